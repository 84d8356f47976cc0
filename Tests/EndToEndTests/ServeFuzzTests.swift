import Foundation
import FuzzSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// fu-serve end to end under the mutation fuzzer: whole HTTP requests (request line,
/// headers and body) over loopback to the built binary. A 5xx, a server that stopped, or
/// one that grew past 1 GiB is a failure. FU_FUZZ_SERVE=PATH runs another build of it
/// (the one before the multipart fix stopped within a few hundred requests).
@Suite struct ServeFuzz {
    @Test func httpRequests() throws {
        let work = try Workdir()
        _ = try work.shell("cp \(try work.fixtureFromRepository("models/fake_user_detector.json")) model.json")
        let binary = ProcessInfo.processInfo.environment["FU_FUZZ_SERVE"].map { URL(fileURLWithPath: $0) }
        let server = try ServeEndToEnd.Server(work, ["-m", "model.json", "--request-timeout", "1"], executable: binary)
        var fuzzer = try Fuzzer(name: "http", corpusFolder: fuzzCorpus("http"), dictionary: [
            "\r\n", "Content-Length: 0\r\n", "Transfer-Encoding: chunked\r\n", "Expect: 100-continue\r\n", "Content-Encoding: zstd\r\n",
            "--B", "--B--", "boundary=", "multipart/form-data", "Content-Disposition: form-data; name=\"file\"", "\u{E9}", "?explain=3",
            "Content-Type: Text/CSV ; charset=utf-8\r\n", "Accept: TEXT/csv;q=0.5, */*\r\n", "POST /events HTTP/1.1\r\n",
        ])
        var statuses: [Int: Int] = [:]
        try fuzzer.run { request in
            // Half the inputs keep a valid Content-Length, so they reach the route's parsers.
            let bytes = request.count % 2 == 0 ? fixedLength(request) : request
            let status: Int
            do {
                status = try exchange(port: server.port, bytes)
            } catch {
                // A trap takes a moment to end the process: an error is blamed on it if it ends.
                throw waitUntil(seconds: 1, { !server.process.isRunning }) ? ServerDied(log: server.log) : error
            }
            statuses[status, default: 0] += 1
            // No answer: this input may have stopped it.
            if status == 0 && waitUntil(seconds: 0.05, { !server.process.isRunning }) { throw ServerDied(log: server.log) }
            guard server.process.isRunning else { throw ServerDied(log: server.log) }
            guard status < 500 else { throw ServerError(status: status) }
            return "\(status)"
        }
        print("fuzz target http: statuses \(statuses.sorted { $0.key < $1.key })")
        let rss = try String(contentsOfFile: "/proc/\(server.process.processIdentifier)/status", encoding: .utf8)
            .split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        let kilobytes = Int(rss?.split(separator: " ").dropFirst().first ?? "") ?? 0
        #expect(kilobytes > 0 && kilobytes < 1 << 20, "fu-serve's resident memory: \(kilobytes) kB")
        #expect(statuses.keys.contains(200))
    }

    struct ServerDied: Error, CustomStringConvertible {
        var log: String
        var description: String { "fu-serve stopped; its log ends:\n\(log.suffix(600))" }
    }

    struct ServerError: Error {
        var status: Int
    }
}

/// The request with its Content-Length set to the body's true length.
func fixedLength(_ request: [UInt8]) -> [UInt8] {
    let separator: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]
    guard let end = (0..<max(0, request.count - 3)).first(where: { request[$0..<($0 + 4)].elementsEqual(separator) }) else { return request }
    let head = String(decoding: request[..<end], as: UTF8.self)
    let body = request[(end + 4)...]
    let lines = head.components(separatedBy: "\r\n").filter { !$0.lowercased().hasPrefix("content-length:") }
    return Array((lines + ["Content-Length: \(body.count)"]).joined(separator: "\r\n").utf8) + separator + body
}

/// Sends one request on a new loopback connection, half-closes, and reads the answer's status
/// (0 when the server closed without one, as it may for bytes that are not HTTP).
func exchange(port: Int, _ request: [UInt8]) throws -> Int {
    let socket = try connectToLoopback(port: port)
    defer { close(socket) }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    _ = request.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    shutdown(socket, Int32(SHUT_WR))
    var answer: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        answer += chunk[..<n]
        // Past a 100 Continue, the final status line.
        let text = String(decoding: answer, as: UTF8.self)
        if let line = text.split(separator: "\r\n").first(where: { $0.hasPrefix("HTTP/1.1 ") && !$0.hasPrefix("HTTP/1.1 100") }) {
            return Int(line.dropFirst(9).prefix(3)) ?? 0
        }
    }
    return 0
}
