import Testing
import Xero

/// Prices keep four decimals on the way to Xero (DESIGN: "Prices keep 4 decimals"; R14's items).
@Suite(.serialized) struct ItemPriceTests {
    let c = XeroClientTests()

    @Test func itemsAreSentWithFourDecimalsSoAPriceStaysExact() throws {
        let x = try SimulatedXero()
        let (client, _, _) = try c.connected(x)
        var item = Item(code: "PEA-STRAW", name: "Pea Straw", salesDetails: ItemDetails(unitPrice: Decimal4(units: 123_456)))
        item.isSold = true
        let saved = try client.saveItems(tenantId: x.tenant, [item], idempotencyKey: "item-1")
        #expect(saved.first?.salesDetails?.unitPrice == Decimal4(units: 123_456))
        let stored = try client.items(tenantId: x.tenant, named: "Pea Straw")
        #expect(stored.first?.salesDetails?.unitPrice == Decimal4(units: 123_456), "12.3456, not 12.35")
    }
}
