import FakeUserKit
import FakeUserServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// `POST /events`, `GET /users/ID` and `DELETE /users/ID` (issue 17, point 4): the stream's
/// per-user state over HTTP, scored by the same code as fu-watch. Restarts with `--state`,
/// reloads and checkpoints are tested on the binary in ServeEndToEndTests.
@Suite struct StreamRoutes {
    static let csv: HTTPFields = [.contentType: "text/csv", .accept: "text/csv"]

    /// `events.csv`'s lines after its header, cut in two.
    static func halves(_ events: [UInt8]) -> (String, String) {
        let lines = String(decoding: events, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
        let header = lines[0], rows = lines.dropFirst()
        let middle = rows.startIndex + rows.count / 2
        return (([header] + rows[..<middle]).joined(separator: "\n") + "\n", ([header] + rows[middle...]).joined(separator: "\n") + "\n")
    }

    /// The reference events sent in two requests: the last answer for each user is what the
    /// batch filters give on the whole file, with the user's number of events.
    @Test func eventsInTwoRequestsScoreAsTheWholeFile() async throws {
        let (first, second) = Self.halves(referenceEvents)
        let expected = try pipelinePredictions(referenceEvents).split(separator: "\n").dropFirst()
        let eventsPerUser = Dictionary(
            String(decoding: referenceEvents, as: UTF8.self).split(separator: "\n").dropFirst().map { ($0.split(separator: ",")[0], 1) },
            uniquingKeysWith: +)
        try await TestServer().run { client in
            var latest: [Substring: Substring] = [:]
            for part in [first, second] {
                let answer = try await client.post(Array(part.utf8), headers: Self.csv, uri: "/events")
                #expect(answer.status == .ok)
                let lines = answer.text.split(separator: "\n")
                #expect(lines.first == "UserId,Fake,Probability,events")
                let ids = lines.dropFirst().map { $0.split(separator: ",")[0] }
                #expect(ids == ids.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }, "in UserId order")
                for line in lines.dropFirst() { latest[line.split(separator: ",")[0]] = line }
            }
            #expect(latest.count == expected.count)
            // The probability is the batch filters'; Fake is the stream's decision: the
            // model's stream policy at the user's events seen (the batch threshold without one).
            let model = try Model.load(modelPath)
            for row in expected {
                let fields = row.split(separator: ",")
                let (id, probability) = (fields[0], Double(fields[2])!)
                let events = eventsPerUser[id]!
                let fake = model.streamPolicy.map { $0.flags(probability, events: events) } ?? (probability >= model.threshold)
                #expect(latest[id] == "\(id),\(fake ? 1 : 0),\(fields[2]),\(events)")
            }
            // GET gives the same row for one user, as a JSON object or as CSV.
            let someone = expected.first!.split(separator: ",")
            let object = try jsonObject(try await client.execute(uri: "/users/\(someone[0])", method: .get).text)
            #expect(object["UserId"] as? String == String(someone[0]))
            #expect(object["Fake"] as? Int == Int(latest[someone[0]]!.split(separator: ",")[1]))
            #expect(try await client.execute(uri: "/users/\(someone[0])", method: .get).text.contains(#""Probability":\#(someone[2]),"#))
            #expect(object["events"] as? Int == eventsPerUser[someone[0]])
            let row = try await client.execute(uri: "/users/\(someone[0])", method: .get, headers: [.accept: "text/csv"])
            #expect(row.text == "UserId,Fake,Probability,events\n\(latest[someone[0]]!)\n")
        }
    }

    /// A bad row anywhere in a request is a 400 naming its line, and none of the request's
    /// events are counted.
    @Test func aRefusedRequestLeavesTheStateAsItWas() async throws {
        try await TestServer().run { client in
            #expect(try await client.post(Array("UserId,Event,Category\nA1,click_ad,Jobs\n".utf8), headers: Self.csv, uri: "/events").status == .ok)
            let bad = try await client.post(Array("UserId,Event,Category\nA1,click_ad,Jobs\nB2,click_ad\n".utf8), headers: Self.csv, uri: "/events")
            #expect(bad.status == .badRequest)
            #expect(bad.errorMessage == "expected 3 fields, found 2 (line 3)")
            let missing = try await client.post(Array("UserId,Event\nA1,click_ad\n".utf8), headers: Self.csv, uri: "/events")
            #expect(missing.status == .unprocessableContent)
            let a1 = try await client.execute(uri: "/users/A1", method: .get, headers: [.accept: "text/csv"])
            #expect(a1.text.hasSuffix(",1\n"), "A1 still has one event: \(a1.text)")
            let b2 = try await client.execute(uri: "/users/B2", method: .get)
            #expect(b2.status == .notFound)
            #expect(b2.errorMessage.hasPrefix("no user 'B2' in the stream's state"))
            // An empty JSON array adds nothing and answers an empty array.
            let empty = try await client.post(Array("[]".utf8), headers: [.contentType: "application/json"], uri: "/events")
            #expect(empty.text == "[]\n")
        }
    }

    /// Erasure, the bound and the figures on /metrics.
    @Test func forgettingEvictingAndTheMetrics() async throws {
        var server = TestServer()
        server.settings.maxUsers = 2
        try await server.run { client in
            let answer = try await client.post(Array(smallEvents.utf8), headers: Self.csv, uri: "/events")
            // C3 came last: the least recently active user (B2) was evicted for it; A1 and B2
            // were still answered, as they stood after the request's events.
            #expect(answer.text.split(separator: "\n").dropFirst().map { $0.split(separator: ",")[0] } == ["A1", "B2", "C3"])
            #expect(try await client.execute(uri: "/users/B2", method: .get).status == .notFound)
            var metrics = try await client.execute(uri: "/metrics", method: .get).text
            #expect(metrics.contains("fu_stream_users 2.0\n"))
            #expect(metrics.contains("fu_stream_evictions 1.0\n"))
            #expect(metrics.contains("fu_stream_events_total 6\n"))
            #expect(metrics.contains("fu_stream_users_flagged "))
            // Users mid-history are not the whole histories the model learned from: /events
            // leaves the drift window to /predict.
            #expect(!metrics.contains("fu_feature_psi"), "\(metrics)")
            let deleted = try await client.execute(uri: "/users/A1", method: .delete)
            #expect(deleted.status == .noContent)
            #expect(try await client.execute(uri: "/users/A1", method: .get).status == .notFound)
            let again = try await client.execute(uri: "/users/A1", method: .delete)
            #expect(again.status == .notFound)
            metrics = try await client.execute(uri: "/metrics", method: .get).text
            #expect(metrics.contains("fu_stream_users 1.0\n"))
            #expect(metrics.contains("fu_stream_evictions 1.0\n"), "a forgotten user is not an eviction")
            #expect(metrics.contains(#"fu_http_requests_total{route="/users/{id}",method="DELETE",status="204"} 1"#))
        }
    }

    @Test func idsArePercentDecodedAndPathsChecked() async throws {
        try await TestServer().run { client in
            let body = "UserId,Event,Category\n\"a b/c\",click_ad,Jobs\n"
            #expect(try await client.post(Array(body.utf8), headers: Self.csv, uri: "/events").status == .ok)
            let found = try await client.execute(uri: "/users/a%20b%2Fc", method: .get)
            #expect(found.status == .ok)
            #expect(try jsonObject(found.text)["UserId"] as? String == "a b/c")
            let nested = try await client.execute(uri: "/users/a/b", method: .get)
            #expect(nested.status == .notFound)
            #expect(nested.errorMessage.hasPrefix("no route /users/a/b"))
            let badEncoding = try await client.execute(uri: "/users/%ZZ", method: .get)
            #expect(badEncoding.status == .badRequest)
            let put = try await client.execute(uri: "/users/a", method: .put)
            #expect(put.status == .methodNotAllowed)
            #expect(put.headers[.allow] == "GET, HEAD, DELETE")
            let getEvents = try await client.execute(uri: "/events", method: .get)
            #expect(getEvents.status == .methodNotAllowed)
        }
    }

    /// `?explain=K` as on /predict: the same reasons, with the events column before them.
    @Test func explainGivesTheReasonsPredictGives() async throws {
        try await TestServer().run { client in
            let body = Array(smallEvents.utf8)
            let predicted = try await client.post(body, headers: Self.csv, uri: "/predict?explain=2").text.split(separator: "\n")
            let streamed = try await client.post(body, headers: Self.csv, uri: "/events?explain=2").text.split(separator: "\n")
            #expect(streamed.first == "UserId,Fake,Probability,events,reasons")
            #expect(streamed.count == predicted.count)
            for (p, s) in zip(predicted.dropFirst(), streamed.dropFirst()) {
                let fields = s.split(separator: ",", maxSplits: 4)
                #expect(fields.prefix(3) + fields.suffix(1) == p.split(separator: ",", maxSplits: 3))
            }
            let one = try await client.execute(uri: "/users/A1?explain=1", method: .get)
            #expect((try jsonObject(one.text)["reasons"] as? [[String: Any]])?.count == 1)
            let bad = try await client.post(body, headers: Self.csv, uri: "/events?explain=0")
            #expect(bad.status == .badRequest)
        }
    }

    /// A user evicted at --max-users and back in the same request is answered once, as it
    /// stands now (it started over).
    @Test func aUserEvictedAndBackIsAnsweredOnce() async throws {
        var server = TestServer()
        server.settings.maxUsers = 2
        try await server.run { client in
            let body = "UserId,Event,Category\nA,click_ad,Jobs\nB,click_ad,Jobs\nC,click_ad,Jobs\nA,send_sms,Motor\n"
            let answer = try await client.post(Array(body.utf8), headers: Self.csv, uri: "/events")
            let rows = answer.text.split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
            #expect(rows.map { String($0[0]) } == ["A", "B", "C"])
            #expect(rows.first.map { String($0[3]) } == "1")
        }
    }

    /// A checkpoint that cannot be written is logged and counted; the request, whose
    /// events were counted, still answers 200.
    @Test func aFailedCheckpointDoesNotFailTheRequest() async throws {
        var server = TestServer()
        server.settings.statePath = "/nonexistent-fu-folder/state.json"
        server.settings.checkpointEvery = 1
        try await server.run { client in
            let answer = try await client.post(Array(smallEvents.utf8), headers: Self.csv, uri: "/events")
            #expect(answer.status == .ok)
            let metrics = try await client.execute(uri: "/metrics", method: .get).text
            #expect(metrics.contains("fu_stream_checkpoint_failures_total 1\n"), "\(metrics)")
            #expect(metrics.contains("fu_stream_events_total 6\n"))
        }
        #expect(server.log.all.contains { $0.contains("checkpoint of the stream's state failed") })
    }

    /// A loaded state is scored with this server's model and rules, not with the flags of
    /// whatever wrote it (here fu-watch's scorer flagging everyone at threshold 0).
    @Test func aLoadedStateIsScoredAgain() throws {
        let model = try Model.load(modelPath)
        var everyone = WatchOptions()
        everyone.threshold = 0
        let writer = try StreamScorer(model: model, options: everyone)
        _ = try writer.run(reader: try TableReader(ByteInput(bytes: referenceEvents, name: "events")), output: ByteOutput(inMemory: ()))
        #expect(writer.flaggedCount == writer.userCount)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fu-state-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try writer.save(to: path)
        var settings = ServerSettings(modelPath: modelPath)
        settings.statePath = path
        let loaded = try StreamStore(model: model, settings: settings)
        let plain = try StreamScorer(model: model, options: WatchOptions())
        _ = try plain.run(reader: try TableReader(ByteInput(bytes: referenceEvents, name: "events")), output: ByteOutput(inMemory: ()))
        #expect(loaded.figures.users == writer.userCount)
        #expect(loaded.figures.flagged == plain.flaggedCount && plain.flaggedCount < writer.userCount)
    }
}
