import Testing
import Xero

@Suite struct XeroDateTests {
    @Test(arguments: [
        ("2024-06-21T01:15:39.902", "2024-06-21T01:15:39.902Z"),
        ("2024-06-21T01:15:39", "2024-06-21T01:15:39.000Z"),
        ("2024-06-21T01:15:39.9025400", "2024-06-21T01:15:39.902Z"),
        ("2024-06-21T01:15:39Z", "2024-06-21T01:15:39.000Z"),
        ("2020-02-06T12:17:43.202-08:00", "2020-02-06T20:17:43.202Z"),
        ("2020-02-06T12:17:43+0130", "2020-02-06T10:47:43.000Z"),
    ])
    func parsesISOFormsAsUTC(text: String, canonical: String) throws {
        let ms = try #require(XeroDate.parseISO(text))
        #expect(XeroDate.formatISO(milliseconds: ms) == canonical)
    }

    @Test(arguments: ["", "2024-06-21", "2024-13-01T00:00:00", "2024-02-30T00:00:00", "2024-06-21T01:15:39.", "2024-06-21T01:15:39+5", "2024-06-21T01:15:39 junk"])
    func rejectsNonDates(_ text: String) {
        #expect(XeroDate.parseISO(text) == nil)
    }

    @Test func msDates() {
        #expect(XeroDate.parseMS("/Date(1573755038314)/") == 1573755038314)
        #expect(XeroDate.parseMS("/Date(1503348544227+0000)/") == 1503348544227)
        #expect(XeroDate.parseMS("/Date(x)/") == nil)
        #expect(XeroDate.formatMS(milliseconds: 5) == "/Date(5+0000)/")
    }
}
