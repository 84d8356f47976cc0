import Testing
@testable import FakeUserKit

@Suite struct MultipartFormTests {
    let events = "UserId,Event,Category\nA,click_ad,Jobs\n"

    func body(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func curlStyleBodyWithAnExtraField() throws {
        let raw = body("preamble\r\n--B\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n"
            + "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"e.csv\"\r\nContent-Type: text/csv\r\n\r\n\(events)\r\n--B--\r\n")
        let form = try MultipartForm(raw, boundary: "B")
        #expect(form.parts.map(\.fieldName) == ["note", "file"])
        #expect(form.field("file", in: raw) == body(events))
        #expect(form.parts[1].headers.map(\.name) == ["content-disposition", "content-type"])
    }

    @Test func bareLineFeedsAndAnEmptyPart() throws {
        let raw = body("--B\nContent-Disposition: form-data; name=\"file\"\n\n--B--\n")
        #expect(try MultipartForm(raw, boundary: "B").field("file", in: raw) == [])
    }

    /// Issue 9, defect 1: any byte 0x80–0xFF in a header name trapped multipart-kit.
    @Test func nonASCIIHeaderNamesAreErrors() throws {
        for byte: UInt8 in [0x80, 0xC3, 0xEF, 0xFF] {
            let raw = body("--B\r\n") + [byte] + body(": x\r\n\r\n\(events)\r\n--B--\r\n")
            #expect(throws: MultipartForm.Failure(message: "malformed multipart part header: expected 'Name: value'")) {
                try MultipartForm(raw, boundary: "B")
            }
        }
        // Non-ASCII in a header value is kept (repaired), not an error.
        let value = body("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"") + [0xC3, 0xA9, 0xFF] + body("\"\r\n\r\nx\r\n--B--\r\n")
        #expect(try MultipartForm(value, boundary: "B").field("file", in: value) == body("x"))
    }

    /// Issue 9, defect 3: a boundary past 70 characters is refused, and the search for the
    /// next delimiter in a body of dashes is linear (a 70-dash boundary in 4 MB of dashes).
    @Test func longBoundariesAndBodiesOfDashes() {
        #expect(throws: MultipartForm.Failure.self) { try MultipartForm(body("--x"), boundary: String(repeating: "x", count: 71)) }
        #expect(throws: MultipartForm.Failure.self) { try MultipartForm(body("--x"), boundary: "") }
        #expect(throws: MultipartForm.Failure.self) { try MultipartForm(body("--a\"b"), boundary: "a\"b") }
        let boundary = String(repeating: "-", count: 70)
        let dashes = body("--\(boundary)\r\nA: b\r\n\r\nx") + [UInt8](repeating: UInt8(ascii: "-"), count: 4 << 20)
        #expect(throws: MultipartForm.Failure(message: "multipart body ends before its closing boundary '--\(boundary)--'")) {
            try MultipartForm(dashes, boundary: boundary)
        }
    }

    @Test func truncatedAndMalformedBodies() {
        let cases: [(String, String)] = [
            ("--B\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx", "multipart body ends before its closing boundary '--B--'"),
            ("--B\r\nContent-Disposition: form-data", "multipart body ends before its closing boundary '--B--'"),
            ("--B", "multipart body ends before its closing boundary '--B--'"),
            ("no boundary here", "multipart body has no boundary '--B'"),
            ("--Bjunk\r\n\r\nx\r\n--B--", "malformed multipart body: a boundary line has text after it"),
            ("--B\r\nno colon\r\n\r\nx\r\n--B--", "malformed multipart part header: expected 'Name: value'"),
        ]
        for (text, message) in cases {
            #expect(throws: MultipartForm.Failure(message: message)) { try MultipartForm(body(text), boundary: "B") }
        }
    }

    @Test func knuthMorrisPrattFindsTheFirstMatch() {
        let hay = body("aaabaaabaaaab")
        #expect(MultipartForm.find(body("aaab"), in: hay, from: 0) == 0)
        #expect(MultipartForm.find(body("aaab"), in: hay, from: 1) == 4)
        #expect(MultipartForm.find(body("aaaab"), in: hay, from: 0) == 8)
        #expect(MultipartForm.find(body("x"), in: hay, from: 0) == nil)
        #expect(MultipartForm.find(body("b"), in: hay, from: 13) == nil)
    }
}
