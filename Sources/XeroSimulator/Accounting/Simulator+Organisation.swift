import Crypto
import Foundation
import HTTPServer
import Xero
import StrictJSON

extension Simulator {
    static func getOrganisation(_ ctx: CallContext) -> Response {
        let o = ctx.org
        var b = JSONObjectBuilder()
        b.add("OrganisationID", o.tenantId)
        b.add("APIKey", "")
        b.add("Name", o.name)
        b.add("LegalName", o.name)
        b.add("PaysTax", true)
        b.add("Version", o.countryCode == "AU" ? "AU" : "NZ")
        b.add("OrganisationType", "COMPANY")
        b.add("BaseCurrency", o.baseCurrency)
        b.add("CountryCode", o.countryCode)
        b.add("IsDemoCompany", false)
        b.add("OrganisationStatus", "ACTIVE")
        b.add("ShortCode", o.shortCode)
        b.add("Edition", "BUSINESS")
        b.add("Class", "STANDARD")
        b.add("Timezone", o.timezone)
        if let lock = o.endOfYearLockDate { b.addDate("EndOfYearLockDate", lock) }
        b.addDate("CreatedDateUTC", o.createdAt)
        let env: JSON = .object([("Id", .string(Ids.uuid())), ("Status", .string("OK")),
                                 ("ProviderName", .string(ctx.sim.configuration.appName)),
                                 ("DateTimeUTC", .string("/Date(\(ctx.now))/")), ("Organisations", .array([b.json]))])
        return Reply.xeroJSON(200, env)
    }
}
