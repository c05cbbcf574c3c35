import Sync
import Testing
import Xero

/// The sentence a person reads for a failed sync says what happened in words, never a raw code.
@Suite struct SyncErrorSentenceTests {
    @Test func aServerErrorNamesItsStatusInWords() {
        let sentence = SyncError.sentence(for: XeroAPIError(.server, status: 503, message: "Service Unavailable"))
        #expect(sentence.contains("server error (HTTP 503)"), "\(sentence)")
        #expect(!sentence.contains("(server)"), "\(sentence)")
    }

    @Test func timeoutsAndFailedConnectionsSayWhichItWas() {
        let timeout = SyncError.sentence(for: XeroAPIError(.timeout, message: "timed out"))
        let transport = SyncError.sentence(for: XeroAPIError(.transport, message: "connection refused"))
        #expect(timeout.contains("did not answer in time"), "\(timeout)")
        #expect(transport.contains("the connection failed"), "\(transport)")
        for s in [timeout, transport] {
            #expect(s.hasPrefix("Xero could not be reached"), "\(s)")
            #expect(!s.contains("(timeout)") && !s.contains("(transport)"), "\(s)")
        }
    }
}
