import Foundation
import Testing

/// The built fu-serve on a free loopback port, driven by curl and signals as an operator
/// would: the original API's curl call, a slow client, SIGHUP with a new and then a corrupt
/// model, and SIGTERM while a request is in flight.
@Suite struct ServeEndToEnd {
    /// A running fu-serve whose stderr goes to `serve.log` in the work folder.
    final class Server {
        let process = Process()
        let work: Workdir
        private(set) var port = 0

        init(_ work: Workdir, _ arguments: [String], executable: URL? = nil) throws {
            self.work = work
            process.executableURL = try executable ?? Workdir.binary("fu-serve")
            process.arguments = arguments + ["--port", "0"]
            process.currentDirectoryURL = work.url
            _ = FileManager.default.createFile(atPath: work.path("serve.log"), contents: nil)
            process.standardError = try FileHandle(forWritingTo: work.url.appendingPathComponent("serve.log"))
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let line = try waitForLog(#/listening on http://127\.0\.0\.1:(\d+)/#)
            port = Int(line.output.1)!
        }

        var log: String { (try? work.read("serve.log")) ?? "" }

        /// Polls the log (up to 10 s) for a line matching `pattern`.
        func waitForLog<Output>(_ pattern: Regex<Output>) throws -> Regex<Output>.Match {
            _ = waitUntil { log.contains(pattern) || !process.isRunning }
            if let match = log.firstMatch(of: pattern) { return match }
            Issue.record("fu-serve never logged \(pattern); log:\n\(log)")
            throw CancellationError()
        }

        func signal(_ number: Int32) { kill(process.processIdentifier, number) }

        /// Stopped before `work` (which it holds) removes the folder it logs into.
        deinit {
            guard process.isRunning else { return }
            process.terminate()
            process.waitUntilExit()
        }
    }

    @Test func originalCurlReloadAndGracefulStop() throws {
        let work = try Workdir()
        let model = try String(contentsOfFile: try work.fixtureFromRepository("models/fake_user_detector.json"), encoding: .utf8)
        try work.write("model.json", model)
        #expect(try work.shell("fu-synth --users 50 --seed 11 | cut -d, -f1-3 > test_data.csv").status == 0)
        let server = try Server(work, ["-m", "model.json", "--log-dir", "logs", "--request-timeout", "1"])
        let url = "http://localhost:\(server.port)"

        // The original API's documented call, unchanged but for the port.
        let original = try work.shell(
            #"curl -sS -X POST "\#(url)/predict" -H "accept: application/json" -H "Content-Type: multipart/form-data" -F "file=@test_data.csv""#)
        #expect(original.status == 0)
        let rows = try JSONSerialization.jsonObject(with: Data(original.stdout.utf8)) as? [[String: Any]]
        #expect(rows?.count == 50)
        // Scored exactly as the filters score the same file.
        let pipeline = try work.shell("fu-featurize < test_data.csv | fu-score -m model.json")
        let csv = try work.shell(#"curl -sS -F "file=@test_data.csv" -H "Accept: text/csv" \#(url)/predict"#)
        #expect(csv.stdout == pipeline.stdout)
        #expect(pipeline.stdout.split(separator: "\n").count == 51)
        // With reasons too: the CSV byte for byte, the JSON array the JSON Lines' objects.
        let explained = try work.shell("fu-featurize < test_data.csv | fu-score -m model.json --explain 3")
        #expect(explained.stdout.hasPrefix("UserId,Fake,Probability,reasons\n"))
        let explainedCSV = try work.shell(#"curl -sS -F "file=@test_data.csv" -H "Accept: text/csv" "\#(url)/predict?explain=3""#)
        #expect(explainedCSV.stdout == explained.stdout)
        let explainedLines = try work.shell("fu-featurize < test_data.csv | fu-score -m model.json --explain 3 --format jsonl")
        let explainedJSON = try work.shell(#"curl -sS -F "file=@test_data.csv" "\#(url)/predict?explain=3""#)
        #expect(explainedJSON.stdout == "[" + explainedLines.stdout.split(separator: "\n").joined(separator: ",") + "]\n")
        #expect(explainedJSON.stdout.contains(#"reasons":[{"feature":"#))
        let badExplain = try work.shell(#"curl -sS -w ' %{http_code}' -F "file=@test_data.csv" "\#(url)/predict?explain=0""#)
        #expect(badExplain.stdout.hasSuffix(" 400"))
        #expect(badExplain.stdout.contains("explain must be a number of reasons from 1 to"))

        // A client that stops sending its body gets 408 after --request-timeout.
        let slow = try work.shell("""
            exec 3<>/dev/tcp/127.0.0.1/\(server.port)
            printf 'POST /predict HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: text/csv\\r\\nContent-Length: 100\\r\\n\\r\\nUserId,' >&3
            timeout 5 head -n 1 <&3
            """)
        #expect(slow.stdout.hasPrefix("HTTP/1.1 408"))
        // One that hangs up half way is a client mistake too, never a 500.
        #expect(try work.shell("""
            exec 3<>/dev/tcp/127.0.0.1/\(server.port)
            printf 'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 100\r\n\r\nUserId,' >&3
            exec 3>&-
            """).status == 0)
        _ = try server.waitForLog(#/status=400 users=- /#)
        #expect(!server.log.contains("status=500"))

        // SIGHUP with a valid new model: threshold 0 makes every user fake.
        let firstHash = try modelHash(work, url)
        try work.write("model.next", model.replacingOccurrences(of: #""threshold": [0-9.e-]+"#, with: #""threshold": 0"#, options: .regularExpression))
        #expect(try work.shell("mv model.next model.json").status == 0)
        server.signal(SIGHUP)
        _ = try server.waitForLog(#/model reloaded/#)
        let secondHash = try modelHash(work, url)
        #expect(secondHash != firstHash)
        #expect(secondHash == (try work.shell("sha256sum model.json | cut -d' ' -f1").stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let allFake = try work.shell(#"curl -sS -F "file=@test_data.csv" -H "Accept: text/csv" \#(url)/predict | tail -n +2 | cut -d, -f2 | sort -u"#)
        #expect(allFake.stdout == "1\n")

        // SIGHUP with a corrupt file: an error in the logs, the previous model still serving.
        try work.write("model.json", "{\"format\": \"fu-model\"")
        server.signal(SIGHUP)
        _ = try server.waitForLog(#/model reload failed/#)
        #expect(try modelHash(work, url) == secondHash)
        let stillFake = try work.shell(#"curl -sS -F "file=@test_data.csv" -H "Accept: text/csv" \#(url)/predict | tail -n +2 | cut -d, -f2 | sort -u"#)
        #expect(stillFake.stdout == "1\n")
        #expect(try work.read("logs/error.log").contains("model reload failed"))
        #expect(try work.read("logs/all.log").contains("method=POST path=/predict status=200 users=50"))

        // SIGTERM while a request is in flight: the request is answered, then a clean exit.
        // Each step waits (at most 5 s) for the server's sockets in /proc/net/tcp: the signal once
        // it has read what was sent, the rest of the body once it stopped listening.
        let inFlight = try work.shell("""
            socket() { awk -v port=":$(printf '%04X' \(server.port))" -v state="$1" -v queue="$2" \\
                '$2 ~ port "$" && $4 == state && $5 ~ queue "$" { found = 1 } END { exit !found }' /proc/net/tcp; }
            exec 3<>/dev/tcp/127.0.0.1/\(server.port)
            body=$'UserId,Event,Category\\nA1,click_ad,Jobs\\n'
            printf 'POST /predict HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: text/csv\\r\\nContent-Length: %d\\r\\n\\r\\n%s' ${#body} "${body:0:10}" >&3
            for _ in $(seq 500); do socket 01 :00000000 && break; sleep 0.01; done  # read: nothing left in its queue
            kill -TERM \(server.process.processIdentifier)
            for _ in $(seq 500); do socket 0A "" || break; sleep 0.01; done  # no longer listening
            printf '%s' "${body:10}" >&3
            timeout 5 cat <&3
            """)
        #expect(inFlight.stdout.hasPrefix("HTTP/1.1 200"))
        #expect(inFlight.stdout.contains(#""UserId":"A1""#))
        server.process.waitUntilExit()
        #expect(server.process.terminationReason == .exit)
        #expect(server.process.terminationStatus == 0)
        #expect(server.log.contains("fu-serve: notice: stopped"))
    }

    /// Issue 17, point 4: the stream's state outlives a restart (saved on SIGTERM, loaded at
    /// start), is the file fu-watch keeps, is checkpointed, and a reload rescores its users.
    @Test func streamStateRestartCheckpointAndReload() throws {
        let work = try Workdir()
        let model = try String(contentsOfFile: try work.fixtureFromRepository("models/fake_user_detector.json"), encoding: .utf8)
        try work.write("model.json", model)
        try work.write("original.json", model)
        #expect(try work.shell("""
            fu-synth --users 40 --seed 12 | cut -d, -f1-3 > events.csv
            head -n 1 events.csv > header.csv
            rows=$(($(wc -l < events.csv) - 1))
            { cat header.csv; tail -n +2 events.csv | head -n $((rows / 2)); } > first.csv
            { cat header.csv; tail -n +2 events.csv | tail -n +$((rows / 2 + 1)); } > second.csv
            """).status == 0)
        func post(_ server: Server, _ file: String) throws -> String {
            try work.shell("curl -sS --data-binary @\(file) -H 'Content-Type: text/csv' -H 'Accept: text/csv' localhost:\(server.port)/events").stdout
        }
        func stop(_ server: Server) {
            // ServiceLifecycle takes SIGTERM in a task that starts beside the listener (on a
            // loaded machine, well after "listening"): wait until the process ignores or
            // catches it (/proc's SigIgn, SigCgt), else the default action kills it.
            let pid = server.process.processIdentifier
            let takesTerm = waitUntil(seconds: 30) {
                let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
                return status.split(separator: "\n").contains { line in
                    guard line.hasPrefix("SigIgn:") || line.hasPrefix("SigCgt:"),
                          let mask = UInt64(line.split(separator: "\t").last ?? "", radix: 16) else { return false }
                    return mask & (1 << (UInt64(SIGTERM) - 1)) != 0
                }
            }
            #expect(takesTerm, "fu-serve never took SIGTERM")
            server.signal(SIGTERM)
            server.process.waitUntilExit()
            #expect(server.process.terminationStatus == 0)
        }

        let first = try Server(work, ["-m", "model.json", "--state", "state.json"])
        #expect(try post(first, "first.csv").hasPrefix("UserId,Fake,Probability,events\n"))
        stop(first)
        #expect(first.log.contains("state saved"))
        let second = try Server(work, ["-m", "model.json", "--state", "state.json"])
        _ = try second.waitForLog(#/state loaded/#)
        _ = try post(second, "second.csv")
        // A reload scores the kept users again: threshold 0 flags every one of them.
        let someone = try work.shell("sed -n 2p events.csv | cut -d, -f1").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try work.write("model.next", model.replacingOccurrences(of: #""threshold": [0-9.e-]+"#, with: #""threshold": 0"#, options: .regularExpression))
        #expect(try work.shell("mv model.next model.json").status == 0)
        second.signal(SIGHUP)
        _ = try second.waitForLog(#/model reloaded/#)
        let flagged = try work.shell("curl -sS -H 'Accept: text/csv' localhost:\(second.port)/users/\(someone) | tail -n 1 | cut -d, -f2")
        #expect(flagged.stdout == "1\n")
        stop(second)
        // fu-watch takes the server's state: its final lines are the batch filters' on every event.
        let watched = try work.shell("fu-watch -m original.json --state state.json --emit final header.csv")
        #expect(watched.status == 0)
        let batch = try work.shell("fu-featurize < events.csv | fu-score -m original.json")
        #expect(watched.stdout == batch.stdout)
        #expect(batch.stdout.split(separator: "\n").count == 41)

        // --checkpoint-every: saved while running, before any stop.
        let third = try Server(work, ["-m", "original.json", "--state", "checkpoint.json", "--checkpoint-every", "5"])
        _ = try post(third, "first.csv")
        #expect(FileManager.default.fileExists(atPath: work.path("checkpoint.json")))
        stop(third)

        // A damaged state is an error naming the file, which is left as it was.
        try work.write("bad.json", "{\"format\": \"fu-watch-state\"")
        let bad = try work.run("fu-serve", ["-m", "original.json", "--state", "bad.json"])
        #expect(bad.status == 65)
        #expect(bad.stderr.contains("bad.json"))
        #expect(try work.read("bad.json") == "{\"format\": \"fu-watch-state\"")
        let usage = try work.run("fu-serve", ["-m", "original.json", "--checkpoint-every", "5"])
        #expect(usage.status == 64)
        #expect(usage.stderr.contains("--checkpoint-every needs --state FILE"))
    }

    /// Issue 9, defects 1, 3 and 4: bytes that used to stop the server (a non-ASCII
    /// multipart header name trapped inside multipart-kit), a boundary past RFC 2046's 70
    /// characters, and curl's `Expect: 100-continue`, which was never answered.
    @Test func hostileMultipartAndExpectContinue() throws {
        let work = try Workdir()
        _ = try work.shell("cp \(try work.fixtureFromRepository("models/fake_user_detector.json")) model.json")
        let server = try Server(work, ["-m", "model.json"])
        let url = "http://127.0.0.1:\(server.port)/predict"
        let trap = try work.shell(#"""
            printf -- '--B\r\n\x80: x\r\n\r\nUserId,Event,Category\nA,click_ad,Jobs\r\n--B--\r\n' |
                curl -s -w ' %{http_code}' -H 'Content-Type: multipart/form-data; boundary=B' --data-binary @- \#(url)
            """#)
        #expect(trap.stdout == #"{"error": "malformed multipart part header: expected 'Name: value'"}"# + "\n 400")
        let long = String(repeating: "x", count: 71)
        let tooLong = try work.shell(#"""
            printf -- '--\#(long)\r\n\r\nx\r\n--\#(long)--\r\n' |
                curl -s -w ' %{http_code}' -H 'Content-Type: multipart/form-data; boundary=\#(long)' --data-binary @- \#(url)
            """#)
        #expect(tooLong.stdout.hasSuffix(" 400"))
        #expect(tooLong.stdout.contains("multipart boundary must be 1 to 70 characters"))
        #expect(server.process.isRunning)

        // A 1.2 MB upload: curl asks to continue and gets 100 at once (not after its 1 s wait).
        #expect(try work.shell("fu-synth --users 6000 --seed 3 | cut -d, -f1-3 > big.csv").status == 0)
        let upload = try work.shell(#"curl -sv -o answer.json -F file=@big.csv \#(url) 2>&1 | grep '^< HTTP'"#)
        #expect(upload.stdout == "< HTTP/1.1 100 Continue\r\n< HTTP/1.1 200 OK\r\n")
        // Announced past --max-body: no 100, the 413 comes without the body.
        let limited = try Server(work, ["-m", "model.json", "--max-body", "1000"])
        let refused = try work.shell(#"curl -sv -o /dev/null -F file=@big.csv http://127.0.0.1:\#(limited.port)/predict 2>&1 | grep '^< HTTP'"#)
        #expect(refused.stdout == "< HTTP/1.1 413 Payload Too Large\r\n")
    }

    /// Issue 16, 17c: a request the HTTP parser refuses was an empty 400 with no log line
    /// and no count; it is a JSON error like any other, also pipelined behind a good one.
    @Test func requestsTheParserRefusesAreJSONLoggedAndCounted() throws {
        let work = try Workdir()
        _ = try work.shell("cp \(try work.fixtureFromRepository("models/fake_user_detector.json")) model.json")
        let server = try Server(work, ["-m", "model.json"])
        func send(_ request: String) throws -> String {
            try work.shell("""
                exec 3<>/dev/tcp/127.0.0.1/\(server.port)
                printf '\(request)' >&3
                timeout 5 cat <&3
                """).stdout
        }
        let header = try send(#"GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"#)
        #expect(header.hasPrefix("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\n"))
        #expect(header.hasSuffix("\r\n\r\n{\"error\": \"malformed HTTP request: invalid character in header\"}\n"))
        #expect(header.contains("X-Request-Id: "))
        let pipelined = try send(#"GET /health HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n"#)
        #expect(pipelined.hasPrefix("HTTP/1.1 200 OK"))
        #expect(pipelined.hasSuffix("\r\n\r\n{\"error\": \"malformed HTTP request: invalid HTTP method\"}\n"))
        _ = try server.waitForLog(#/warning: request id=\S+ method=- path=- status=400 users=- latency_ms=[0-9.]+\n(.|\n)*method=- path=- status=400/#)
        let metrics = try work.shell("curl -sS http://127.0.0.1:\(server.port)/metrics").stdout
        #expect(metrics.contains(#"fu_http_requests_total{route="unmatched",method="-",status="400"} 2"#))
    }

    /// Issue 16, 17d: at the descriptor limit the accept loop spun (0.76 CPU-seconds a
    /// second) and answered nothing; now it pauses, and answers once descriptors are free.
    @Test func atTheDescriptorLimitAcceptingPausesAndResumes() throws {
        let work = try Workdir()
        _ = try work.shell("cp \(try work.fixtureFromRepository("models/fake_user_detector.json")) model.json")
        let server = try Server(
            work, ["-c", #"ulimit -n 64 && exec "$0" "$@""#, try Workdir.binary("fu-serve").path, "-m", "model.json"],
            executable: URL(fileURLWithPath: "/bin/sh"))
        var sockets: [Int32] = []
        defer { sockets.forEach { _ = close($0) } }
        for _ in 0..<100 { sockets.append(try connectToLoopback(port: server.port)) }
        _ = try server.waitForLog(#/not accepting connections: out of file descriptors \(EMFILE/#)
        let pid = server.process.processIdentifier
        let before = try cpuSeconds(pid)
        Thread.sleep(forTimeInterval: 2)  // the window measured, not a wait for an event
        let spent = try cpuSeconds(pid) - before
        #expect(spent < 0.2, "fu-serve used \(spent) CPU-seconds in 2 s at the descriptor limit")
        sockets.forEach { _ = close($0) }
        sockets = []
        let health = try work.shell("curl -sS --max-time 10 http://127.0.0.1:\(server.port)/health")
        #expect(health.stdout.contains(#""status": "ok""#))
        _ = try server.waitForLog(#/accepting connections again/#)
    }

    @Test func startupErrors() throws {
        let work = try Workdir()
        let missing = try work.run("fu-serve", ["-m", "nope.json"])
        #expect(missing.status == 66)
        #expect(missing.stderr.contains("fu-serve: error: cannot read model file (nope.json)"))
        try work.write("bad.json", "{}")
        let bad = try work.run("fu-serve", ["-m", "bad.json"])
        #expect(bad.status == 65)
        #expect(bad.stderr.contains("fu-serve: error: invalid model"))
        let usage = try work.run("fu-serve", ["-m", "x.json", "--max-body", "lots"])
        #expect(usage.status == 64)
        #expect(usage.stderr.hasPrefix("fu-serve: error: --max-body must be a positive size"))
        let noModel = try work.run("fu-serve")
        #expect(noModel.status == 64)
    }

    private func modelHash(_ work: Workdir, _ url: String) throws -> String {
        let text = try work.shell("curl -sS \(url)/model").stdout
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        return object?["sha256"] as? String ?? ""
    }
}

/// A TCP connection to 127.0.0.1:`port`, as a descriptor.
func connectToLoopback(port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EMFILE) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard result == 0 else {
        close(fd)
        throw POSIXError(.ECONNREFUSED)
    }
    return fd
}

/// User and system CPU time a process has used, from /proc/PID/stat.
func cpuSeconds(_ pid: Int32) throws -> Double {
    let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
    // After the command name in parentheses: utime and stime are the 12th and 13th fields.
    let fields = stat[stat.range(of: ")", options: .backwards)!.upperBound...].split(separator: " ")
    return Double(Int(fields[11])! + Int(fields[12])!) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

extension Workdir {
    /// The path of a file in the repository (models/, data/).
    func fixtureFromRepository(_ path: String) throws -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(path).path
    }
}
