import HTTPClient

extension XeroIdentityClient {
    /// Removes one connection (one organisation) from the grant: `DELETE /connections/{id}`,
    /// 204 (FACTS §2.1). Unlike `revoke`, the grant's other connections stay. One try.
    public func disconnect(connectionId: String, accessToken: String) throws(XeroAPIError) {
        let request = ClientRequest(method: "DELETE", url: endpoints.api + "/connections/" + FormEncoding.escape(connectionId),
                                    headers: [(name: "Authorization", value: "Bearer \(accessToken)"),
                                              (name: "Accept", value: "application/json")],
                                    body: [], timeout: retry.timeout, acceptEncoding: true)
        let response = try http.xeroTry(request, tenantId: nil, path: "/connections/{id}", attempt: 1,
                                        observer: observer).get()
        guard response.status == 204 || response.status == 200 else { throw XeroIdentityClient.failure(response) }
    }
}
