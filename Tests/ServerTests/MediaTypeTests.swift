import Foundation
import Testing
@testable import FakeUserServer

/// `mediaType`'s byte path for ASCII headers gives what Foundation's trimming and
/// lowercasing gave (HTTP's own parsing strips a header's outer spaces and tabs first, so
/// the server tests cannot reach these spellings).
@Suite struct MediaTypeTests {
    static func foundation(_ header: String) -> String {
        let head = header.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return head.trimmingCharacters(in: .whitespaces).lowercased()
    }

    @Test(arguments: [
        "", ";", " ;x", "\tA/B\t", "Text/CSV", "  Application/X-NDJSON ; charset=UTF-8", "A\tB ;c;d", "a\u{0B}", "\t \t",
        "multipart/form-data; boundary=X", "\u{00A0}X/Y", "TEXT/\u{00C9}", "x/y\u{2003}",
    ])
    func equalsFoundation(_ header: String) {
        #expect(PredictHandler.mediaType(header) == Self.foundation(header), "\(header.debugDescription)")
    }
}
