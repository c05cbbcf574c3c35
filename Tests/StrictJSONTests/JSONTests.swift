import Testing
import StrictJSON

@Suite struct JSONTests {
    @Test func parsesAndSerialisesRoundTrip() throws {
        let text = #"{"a":[1,-2.5e3,true,false,null],"b":"x\"y\\z\n\u00e9\ud83d\ude00","c":{}}"#
        let v = try JSON.parse(text)
        #expect(v["b"]?.stringValue == "x\"y\\z\né😀")
        #expect(try JSON.parse(v.serialized) == v)
        #expect(v["a"]?.arrayValue?.count == 5)
    }

    @Test(arguments: ["{", "[1,]", "{\"a\" 1}", "01", "1.", "\"\\x\"", "\"\u{01}\"", "tru", "\"\\ud800\"", "{} x", "-", "1e999"])
    func rejectsInvalid(_ text: String) {
        #expect(throws: JSONError.self) { try JSON.parse(text) }
    }

    @Test func deepNestingIsRefusedNotACrash() {
        #expect(throws: JSONError.self) { try JSON.parse(String(repeating: "[", count: 1_000_000)) }
        #expect(throws: JSONError.self) { try JSON.parse(Array([0xff, 0xfe])) }
        #expect(throws: JSONError.self) { try JSON.parse([0x22, 0xc3, 0x28, 0x22]) }  // invalid UTF-8
    }
}
