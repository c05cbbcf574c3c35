import Xero

extension Configuration {
    /// Where this gateway finds Xero (or the simulator standing in for it).
    var xeroEndpoints: XeroEndpoints {
        XeroEndpoints(login: xeroLoginURL, identity: xeroIdentityURL, api: xeroAPIURL)
    }

    /// Xero Identity for this gateway's app: authorize URL, code exchange, refresh, revocation, connections.
    func xeroIdentity(retry: XeroRetryPolicy) -> XeroIdentityClient {
        XeroIdentityClient(endpoints: xeroEndpoints,
                           app: XeroApp(clientId: xeroClientId, clientSecret: xeroClientSecret, redirectURI: redirectURI,
                                        scopes: xeroScopes),
                           retry: retry)
    }
}
