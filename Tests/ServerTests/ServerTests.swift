import FakeUserKit
import FakeUserServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

// Every route, content type and error status of fu-serve, run in-process through
// HummingbirdTesting's router client. The built binary is tested in ServeEndToEndTests.

let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let modelPath = repository.appendingPathComponent("models/fake_user_detector.json").path

/// A few users, one of each kind the tests need: several event types, one user with one
/// event, CRLF endings.
let smallEvents = """
    UserId,Event,Category\r
    B2,click_ad,Motor\r
    A1,click_ad,Jobs\r
    A1,send_email,Jobs\r
    B2,click_ad,Motor\r
    A1,phone_call,Leisure\r
    C3,send_sms,Phone\r

    """

/// The 3,000-user reference events (zstd), and the same decoded.
let referenceEventsZstd = [UInt8](try! Data(contentsOf: repository.appendingPathComponent("Tests/Fixtures/events.csv.zst")))
let referenceEvents = try! ByteInput(bytes: referenceEventsZstd, name: "events").readAll()

/// Collects log lines, to check the access log.
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }

    func logger() -> Logger {
        var logger = Logger(label: "fu-serve-test") { _ in Handler(sink: self) }
        logger.logLevel = .trace
        return logger
    }

    struct Handler: LogHandler {
        let sink: LogLines
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            sink.lines.withLock { $0.append("\(event.level): \(event.message)") }
        }
    }
}

struct TestServer {
    var settings = ServerSettings(modelPath: modelPath)
    let log = LogLines()
    let metrics = ServerMetrics()

    func run(_ test: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let store = ModelStore(try LoadedModel.load(path: settings.modelPath))
        try await run(store: store, test)
    }

    func run(store: ModelStore, _ test: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = makeServer(settings: settings, store: store, streams: try StreamStore(model: store.current.model, settings: settings), metrics: metrics, logger: log.logger())
        try await app.test(.router, test)
    }
}

extension TestClientProtocol {
    func post(_ body: [UInt8], headers: HTTPFields, uri: String = "/predict") async throws -> TestResponse {
        try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: body))
    }

    func post(_ text: String, type: String, accept: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: type]
        if let accept { headers[.accept] = accept }
        return try await post(Array(text.utf8), headers: headers)
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The `{"error": "..."}` message; records an issue when the body is not that.
    var errorMessage: String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let message = object["error"] as? String, object.count == 1
        else {
            Issue.record("not a JSON error: \(text)")
            return ""
        }
        return message
    }

    /// A JSON array of predictions, as (UserId, Fake, Probability).
    var predictions: [(String, Int, Double)] {
        guard let items = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else {
            Issue.record("not a JSON array: \(text.prefix(200))")
            return []
        }
        return items.map { ($0["UserId"] as! String, $0["Fake"] as! Int, $0["Probability"] as! Double) }
    }
}

/// A multipart/form-data body as curl -F makes it: CRLF line breaks, a filename and a type.
func multipart(boundary: String = "fuBoundary7MA4YWxk", fields: [(name: String, filename: String?, content: String)], close: Bool = true) -> [UInt8] {
    multipart(boundary: boundary, fields: fields.map { ($0.name, $0.filename, Array($0.content.utf8)) }, close: close)
}

func multipart(boundary: String = "fuBoundary7MA4YWxk", fields: [(name: String, filename: String?, content: [UInt8])], close: Bool = true) -> [UInt8] {
    var body: [UInt8] = []
    for field in fields {
        var head = "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field.name)\""
        if let filename = field.filename { head += "; filename=\"\(filename)\"\r\nContent-Type: application/octet-stream" }
        body += Array((head + "\r\n\r\n").utf8) + field.content + Array("\r\n".utf8)
    }
    if close { body += Array("--\(boundary)--\r\n".utf8) }
    return body
}

let multipartType = "multipart/form-data; boundary=fuBoundary7MA4YWxk"

/// The predictions the library's filters make for `events`: fu-featurize, then fu-score.
func pipelinePredictions(_ events: [UInt8]) throws -> String {
    let features = ByteOutput(inMemory: ())
    _ = try Featurizer(options: FeaturizeOptions()).run(reader: TableReader(ByteInput(bytes: events, name: "events")), output: features, format: .csv)
    let model = try Model.load(modelPath)
    let reader = try TableReader(ByteInput(bytes: try features.collected(), name: "features"))
    let match = try FeatureMatch(model: model, header: reader.header)
    let table = try FeatureTable.read(reader, features: model.features, fillMissing: Set(match.filledWithZero))
    let output = ByteOutput(inMemory: ())
    try writePredictions(ids: table.ids, probabilities: model.probabilities(table), threshold: model.threshold, to: output, format: .csv)
    return String(decoding: try output.collected(), as: UTF8.self)
}

@Suite struct PredictRoute {
    @Test func theOriginalMultipartCallIsScoredAsThePipelineScoresTheFile() async throws {
        let expected = try pipelinePredictions(referenceEvents)
        let events = String(decoding: referenceEvents, as: UTF8.self)
        try await TestServer().run { client in
            let body = multipart(fields: [("file", "test_data.csv", events)])
            let json = try await client.post(body, headers: [.contentType: multipartType, .accept: "application/json"])
            #expect(json.status == .ok)
            #expect(json.headers[.contentType] == "application/json; charset=utf-8")
            let rows = json.predictions
            #expect(rows.count == 3000)
            #expect(rows.map(\.0) == rows.map(\.0).sorted())
            let csv = try await client.post(body, headers: [.contentType: multipartType, .accept: "text/csv"])
            #expect(csv.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(csv.text == expected)
            // The JSON rows are the CSV's, to the last digit of the number text.
            let csvRows = expected.split(separator: "\n").dropFirst().map { String($0) }
            let jsonRows = json.text.matches(of: /"UserId":"([^"]*)","Fake":(\d),"Probability":([^}]*)\}/).map {
                "\($0.output.1),\($0.output.2),\($0.output.3)"
            }
            #expect(jsonRows == csvRows)
        }
    }

    @Test func explainAddsReasonsAndIsChecked() async throws {
        let featureCount = try Model.load(modelPath).features.count
        try await TestServer().run { client in
            let headers: HTTPFields = [.contentType: "text/csv"]
            let body = Array(smallEvents.utf8)
            let json = try await client.post(body, headers: headers, uri: "/predict?explain=2")
            #expect(json.status == .ok)
            let rows = try JSONSerialization.jsonObject(with: Data(json.text.utf8)) as! [[String: Any]]
            #expect(rows.map { $0["UserId"] as! String } == ["A1", "B2", "C3"])
            for row in rows {
                let reasons = row["reasons"] as! [[String: Any]]
                #expect(reasons.count == 2)
                #expect(reasons.allSatisfy { $0["feature"] is String && $0["value"] is Double && $0["contribution"] is Double })
                #expect(abs(reasons[0]["contribution"] as! Double) >= abs(reasons[1]["contribution"] as! Double))
            }
            // An empty batch keeps the reasons column.
            let empty = try await client.post(Array("UserId,Event,Category\n".utf8), headers: [.contentType: "text/csv", .accept: "text/csv"], uri: "/predict?explain=1")
            #expect(empty.text == "UserId,Fake,Probability,reasons\n")
            for bad in ["0", "-1", "x", "", "\(featureCount + 1)"] {
                let answer = try await client.post(body, headers: headers, uri: "/predict?explain=\(bad)")
                #expect(answer.status == .badRequest, "explain=\(bad)")
                #expect(answer.errorMessage.hasPrefix("explain must be a number of reasons from 1 to \(featureCount) (the model's feature count), not "))
            }
            let all = try await client.post(body, headers: headers, uri: "/predict?explain=\(featureCount)")
            #expect(all.status == .ok)
        }
    }

    @Test func everyContentTypeGivesTheSameAnswer() async throws {
        let expected = try pipelinePredictions(Array(smallEvents.utf8))
        let ndjson = """
            {"UserId": "B2", "Event": "click_ad", "Category": "Motor"}
            {"UserId": "A1", "Event": "click_ad", "Category": "Jobs"}
            {"UserId": "A1", "Event": "send_email", "Category": "Jobs"}
            {"UserId": "B2", "Event": "click_ad", "Category": "Motor"}
            {"UserId": "A1", "Event": "phone_call", "Category": "Leisure"}
            {"UserId": "C3", "Event": "send_sms", "Category": "Phone"}

            """
        let array = "[\n" + ndjson.split(separator: "\n").joined(separator: ",\n") + "\n]\n"
        let zstd = try zstdCompress(Array(smallEvents.utf8))
        let zstdMultipart = try zstdCompress(multipart(fields: [("file", "events.csv", smallEvents)]))
        try await TestServer().run { client in
            let answers: [TestResponse] = [
                try await client.post(multipart(fields: [("file", "events.csv", smallEvents)]), headers: [.contentType: multipartType, .accept: "text/csv"]),
                try await client.post(smallEvents, type: "text/csv", accept: "text/csv"),
                try await client.post(ndjson, type: "application/x-ndjson", accept: "text/csv"),
                try await client.post(array, type: "application/json", accept: "text/csv"),
                try await client.post(zstd, headers: [.contentType: "application/zstd", .accept: "text/csv"]),
                try await client.post(zstd, headers: [.contentType: "text/csv", .contentEncoding: "zstd", .accept: "text/csv"]),
                try await client.post(multipart(fields: [(name: "file", filename: "events.csv.zst", content: zstd)]), headers: [.contentType: multipartType, .accept: "text/csv"]),
                // Issue 16, 17a: the whole form zstd-compressed was a 400.
                try await client.post(zstdMultipart, headers: [.contentType: multipartType, .contentEncoding: "zstd", .accept: "text/csv"]),
                // Media types in any case, spaced and with parameters.
                try await client.post(smallEvents, type: " Text/CSV ;charset=UTF-8", accept: "\tTEXT/csv; q=0.9, application/json"),
                try await client.post(ndjson, type: "\tApplication/X-NDJSON\t", accept: "Text/*"),
                try await client.post(zstd, headers: [.contentType: "TEXT/CSV", .contentEncoding: " ZSTD ", .accept: "text/CSV"]),
            ]
            for (index, answer) in answers.enumerated() {
                #expect(answer.status == .ok, "request \(index): \(answer.text)")
                #expect(answer.text == expected, "request \(index)")
            }
        }
    }

    @Test func batchesTheOriginalFailedOnAreScored() async throws {
        try await TestServer().run { client in
            // One user with one event: every other event type is missing.
            let one = try await client.post("UserId,Event,Category\nZZ,click_ad,Jobs\n", type: "text/csv")
            #expect(one.status == .ok)
            #expect(one.predictions.map(\.0) == ["ZZ"])
            // An event type the model never saw counts in the totals only.
            let unknown = try await client.post("UserId,Event,Category\nZZ,click_ad,Jobs\nZZ,new_type,Jobs\n", type: "text/csv")
            #expect(unknown.status == .ok)
            #expect(unknown.predictions.count == 1)
            // A header and no events: nothing to score.
            let none = try await client.post("UserId,Event,Category\n", type: "text/csv")
            #expect(none.status == .ok)
            #expect(none.text == "[]\n")
            let emptyArray = try await client.post("[ ]", type: "application/json")
            #expect(emptyArray.status == .ok)
            #expect(emptyArray.text == "[]\n")
        }
    }

    @Test func multipartWithAnExtraFieldAndOnlyLineFeedsInTheFile() async throws {
        let expected = try pipelinePredictions(Array(smallEvents.utf8))
        try await TestServer().run { client in
            let lf = smallEvents.replacingOccurrences(of: "\r\n", with: "\n")
            let body = multipart(fields: [("note", nil, "hello"), ("file", "events.csv", lf), ("after", nil, "x")])
            let answer = try await client.post(body, headers: [.contentType: multipartType, .accept: "text/csv"])
            #expect(answer.status == .ok)
            #expect(answer.text == expected)
        }
    }

    @Test func badMultipartBodies() async throws {
        try await TestServer().run { client in
            let noFile = try await client.post(multipart(fields: [("upload", "e.csv", smallEvents)]), headers: [.contentType: multipartType])
            #expect(noFile.status == .unprocessableContent)
            #expect(noFile.errorMessage.contains("no field 'file' (found fields 'upload')"))
            let truncated = try await client.post(multipart(fields: [("file", "e.csv", smallEvents)], close: false), headers: [.contentType: multipartType])
            #expect(truncated.status == .badRequest)
            #expect(truncated.errorMessage.contains("ends before its closing boundary"))
            let noBoundary = try await client.post(multipart(fields: [("file", "e.csv", smallEvents)]), headers: [.contentType: "multipart/form-data"])
            #expect(noBoundary.status == .badRequest)
            #expect(noBoundary.errorMessage == "multipart/form-data without a boundary")
            // Issue 16, 17b: every part's name was echoed (13.7 MB for a 16 MB body).
            let long = String(repeating: "n", count: 200)
            let many = multipart(fields: [(long, nil, "")] + (1...30).map { ("f\($0)", nil, "") })
            let capped = try await client.post(many, headers: [.contentType: multipartType])
            #expect(capped.status == .unprocessableContent)
            let shown = ["'\(long.prefix(64))…'"] + (1...9).map { "'f\($0)'" }
            #expect(capped.errorMessage == "multipart body has no field 'file' (found fields \(shown.joined(separator: ", ")) and 21 more); send the events as -F file=@events.csv")
            // Content-Encoding: zstd on a form that is not zstd, or is corrupt.
            let plainForm = multipart(fields: [("file", "e.csv", smallEvents)])
            let notZstd = try await client.post(plainForm, headers: [.contentType: multipartType, .contentEncoding: "zstd"])
            #expect(notZstd.status == .badRequest)
            #expect(notZstd.errorMessage == "Content-Encoding is zstd but the body is not zstd data")
            let corrupt = try await client.post(Array(try zstdCompress(plainForm).dropLast(3)), headers: [.contentType: multipartType, .contentEncoding: "zstd"])
            #expect(corrupt.status == .badRequest)
        }
    }

    /// Issue 9, defect 2: 10,000 users each with its own event type took 2.2 GB; past 64
    /// distinct types the request is refused at once.
    @Test func tooManyEventTypesIsA413() async throws {
        let rows = (1...10_000).map { String(format: "U%06d,ev%d,Jobs", $0, $0) }.joined(separator: "\n")
        try await TestServer().run { client in
            let answer = try await client.post("UserId,Event,Category\n\(rows)\n", type: "text/csv")
            #expect(answer.status == .contentTooLarge)
            #expect(answer.errorMessage.hasPrefix("more than 64 distinct event types (the limit)"))
            #expect(answer.errorMessage.hasSuffix("(line 66)"))
        }
    }

    /// Issue 9, defect 6: a model whose features match nothing scored every user the same.
    /// Requests bring events, so such a model is refused when loaded (fu-serve exits 65),
    /// at start or on a reload, instead of answering every request with a 422.
    @Test func aModelEventsCannotGiveIsRefusedWhenLoaded() async throws {
        let text = try String(contentsOfFile: modelPath, encoding: .utf8)
        var model = try Model.parse(Array(text.utf8), name: "model")
        model.features = model.features.map { "x_" + $0 }
        model.eventTypeColumns = model.eventTypeColumns.map { "x_" + $0 }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fu-wrong-\(UUID().uuidString).json")
        try model.json.rendered().write(to: folder, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: folder) }
        do {
            _ = try LoadedModel.load(path: folder.path)
            Issue.record("a model with features events do not give was loaded")
        } catch let error as ToolError {
            #expect(error.status == .dataError)
            #expect(error.message == "the model uses feature 'x_total_events', which events do not give: fu-serve scores models trained on fu-featurize's columns")
        }
    }

    @Test func malformedInputIsA400NamingTheLine() async throws {
        try await TestServer().run { client in
            let fields = try await client.post("UserId,Event,Category\nA,click_ad,Jobs\nB,click_ad\n", type: "text/csv")
            #expect(fields.status == .badRequest)
            #expect(fields.errorMessage == "expected 3 fields, found 2 (line 3)")
            let quote = try await client.post("UserId,Event,Category\nA,\"click_ad,Jobs\n", type: "text/csv")
            #expect(quote.status == .badRequest)
            #expect(quote.errorMessage.contains("(line 2)"))
            let emptyID = try await client.post("UserId,Event,Category\n,click_ad,Jobs\n", type: "text/csv")
            #expect(emptyID.status == .badRequest)
            #expect(emptyID.errorMessage == "empty UserId (line 2)")
            let json = try await client.post("[\n{\"UserId\": \"A\", \"Event\": \"click_ad\", \"Category\": \"Jobs\"},\n{\"UserId\": \"B\" \"Event\": 1}\n]", type: "application/json")
            #expect(json.status == .badRequest)
            #expect(json.errorMessage == "expected ',' or '}' (line 3)")
            // A bad value inside a well-formed array names the element's line in the body.
            let arrayValue = try await client.post("[\n{\"UserId\": \"A\", \"Event\": \"click_ad\", \"Category\": \"Jobs\"},\n\n{\"UserId\": \"\", \"Event\": \"click_ad\", \"Category\": \"Jobs\"}]", type: "application/json")
            #expect(arrayValue.status == .badRequest)
            #expect(arrayValue.errorMessage == "empty UserId (line 4)")
            let ndjson = try await client.post("{\"UserId\": \"A\", \"Event\": \"click_ad\", \"Category\": \"Jobs\"}\n{\"UserId\": \"B\",\n", type: "application/x-ndjson")
            #expect(ndjson.status == .badRequest)
            #expect(ndjson.errorMessage.contains("(line 2)"))
            let empty = try await client.post("", type: "text/csv")
            #expect(empty.status == .badRequest)
            #expect(empty.errorMessage.contains("no events"))
            let garbage = try await client.post([0x00, 0xFF, 0xFE, 0x41, 0x0A, 0x80, 0x0A], headers: [.contentType: "text/csv"])
            #expect(garbage.status == .badRequest)
            let notZstd = try await client.post(smallEvents, type: "text/csv").status
            #expect(notZstd == .ok)
            let claimsZstd = try await client.post(Array(smallEvents.utf8), headers: [.contentType: "text/csv", .contentEncoding: "zstd"])
            #expect(claimsZstd.status == .badRequest)
            #expect(claimsZstd.errorMessage == "Content-Encoding is zstd but the body is not zstd data")
            let corruptZstd = try await client.post(Array(try zstdCompress(Array(smallEvents.utf8)).dropLast(3)), headers: [.contentType: "application/zstd"])
            #expect(corruptZstd.status == .badRequest)
        }
    }

    @Test func wellFormedInputWithoutTheColumnsIsA422() async throws {
        try await TestServer().run { client in
            let csv = try await client.post("UserId,Event\nA,click_ad\n", type: "text/csv")
            #expect(csv.status == .unprocessableContent)
            #expect(csv.errorMessage == "missing required column 'Category'; events need UserId, Event and Category")
            let json = try await client.post("[{\"user\": \"A\", \"Event\": \"click_ad\"}]", type: "application/json")
            #expect(json.status == .unprocessableContent)
            #expect(json.errorMessage.hasPrefix("missing required columns 'UserId', 'Category'"))
            // Issue 16, point 7: the hints the tools give, once each.
            let lower = try await client.post("UserId,Event,category\nA,click_ad,Jobs\n", type: "text/csv")
            #expect(lower.status == .unprocessableContent)
            #expect(lower.errorMessage == "missing required column 'Category'; events need UserId, Event and Category; found 'category' (column names are case-sensitive: rename it 'Category')")
            let semicolons = try await client.post("UserId;Event;Category\nA;click_ad;Jobs\n", type: "text/csv")
            #expect(semicolons.status == .unprocessableContent)
            #expect(semicolons.errorMessage == "missing required columns 'UserId', 'Event', 'Category'; events need UserId, Event and Category; the header is one column separated by semicolons: fu reads comma-separated CSV (convert it, e.g. with tr ';' ',', if no field holds a comma)")
            let features = try await client.post("UserId,total_events,click_ad\nA,1,1\n", type: "text/csv")
            #expect(features.status == .unprocessableContent)
            #expect(features.errorMessage.hasSuffix("; this looks like a features table (from fu-featurize), not events"))
            // A label column in another case is a header to fix too.
            let label = try await client.post("UserId,Event,Category,fake\nA,click_ad,Jobs,1\n", type: "text/csv")
            #expect(label.status == .unprocessableContent)
            #expect(label.errorMessage == "found a column 'fake'; the label column is 'Fake' (column names are case-sensitive): rename it")
        }
    }

    /// Issue 16, point 7: an event type named like a column of the features is a bad value (400).
    @Test func eventTypesNamedLikeFeatureColumnsAre400() async throws {
        try await TestServer().run { client in
            let fake = try await client.post("UserId,Event,Category\nA,Fake,Jobs\n", type: "text/csv")
            #expect(fake.status == .badRequest)
            #expect(fake.errorMessage == "event type 'Fake' is named like the label column 'Fake'; rename that event type (line 2)")
            let ratio = try await client.post("UserId,Event,Category\nA,phone_call_ratio,Jobs\n", type: "text/csv")
            #expect(ratio.status == .badRequest)
            #expect(ratio.errorMessage.hasPrefix("event type 'phone_call_ratio' would be read as the ratio column"))
        }
    }

    /// Issue 16, point 7: the reader's message for gzip named a command line (gunzip -c
    /// request body | fu-serve); a client is told what to send.
    @Test func otherCompressorsAreNamedForTheClient() async throws {
        let csv = Array("UserId,Event,Category\nA,click_ad,Jobs\n".utf8)
        try await TestServer().run { client in
            for name in ["gzip", "bzip2", "xz"] {
                let body = try shellBytes("\(name) -c", stdin: csv)
                let raw = try await client.post(body, headers: [.contentType: "text/csv"])
                let form = try await client.post(multipart(fields: [(name: "file", filename: "e.csv", content: body)]), headers: [.contentType: multipartType])
                for answer in [raw, form] {
                    #expect(answer.status == .badRequest)
                    #expect(answer.errorMessage == "the events are \(name) data; send them plain, or zstd-compressed (Content-Type: application/zstd)")
                }
            }
        }
    }

    @Test func unsupportedContentTypesAndEncodingsAre415() async throws {
        try await TestServer().run { client in
            let xml = try await client.post("<events/>", type: "application/xml")
            #expect(xml.status == .unsupportedMediaType)
            #expect(xml.errorMessage.hasPrefix("Content-Type 'application/xml' is not supported"))
            let spelled = try await client.post("<events/>", type: "  Application/XML ; charset=utf-8")
            #expect(spelled.status == .unsupportedMediaType && spelled.errorMessage.hasPrefix("Content-Type 'application/xml' is not supported"))
            // Beyond ASCII: trimmed as Unicode spaces, as before.
            let wide = try await client.post("<events/>", type: "\u{00A0}Application/XML")
            #expect(wide.status == .unsupportedMediaType && wide.errorMessage.hasPrefix("Content-Type 'application/xml' is not supported"), "\(wide.text)")
            let form = try await client.post(smallEvents, type: "application/x-www-form-urlencoded")
            #expect(form.status == .unsupportedMediaType)
            let gzip = try await client.post(Array(smallEvents.utf8), headers: [.contentType: "text/csv", .contentEncoding: "gzip"])
            #expect(gzip.status == .unsupportedMediaType)
            #expect(gzip.errorMessage == "Content-Encoding 'gzip' is not supported; send zstd or none")
        }
    }

    @Test func limitsAre413() async throws {
        var server = TestServer()
        server.settings.maxBody = 1024
        server.settings.maxEvents = 5
        let big = "UserId,Event,Category\n" + String(repeating: "AAAAAAAAAA,click_ad,Jobs\n", count: 60)
        // Small when compressed, far over the limit once decoded.
        let bomb = try zstdCompress(Array(("UserId,Event,Category\n" + String(repeating: "A,click_ad,Jobs\n", count: 10_000)).utf8))
        #expect(bomb.count < 1024)
        try await server.run { client in
            let body = try await client.post(big, type: "text/csv")
            #expect(body.status == .contentTooLarge)
            #expect(body.errorMessage.contains("the limit is 1024"))
            let tooMany = try await client.post(smallEvents, type: "text/csv")
            #expect(tooMany.status == .contentTooLarge)
            #expect(tooMany.errorMessage == "more than 5 events in one request")
            let decoded = try await client.post(bomb, headers: [.contentType: "application/zstd"])
            #expect(decoded.status == .contentTooLarge)
            #expect(decoded.errorMessage == "the events are more than 1024 bytes once decoded")
            let form = try zstdCompress(multipart(fields: [("file", "e.csv", String(decoding: try ByteInput(bytes: bomb, name: "bomb").readAll(), as: UTF8.self))]))
            #expect(form.count < 1024)
            let decodedForm = try await client.post(form, headers: [.contentType: multipartType, .contentEncoding: "zstd"])
            #expect(decodedForm.status == .contentTooLarge)
            #expect(decodedForm.errorMessage == "the multipart body is more than 1024 bytes once decoded")
            let fine = try await client.post("UserId,Event,Category\nA,click_ad,Jobs\n", type: "text/csv")
            #expect(fine.status == .ok)
        }
    }

    @Test func largeBatchesAreScoredOffTheRequestTaskWithTheSameResult() async throws {
        var server = TestServer()
        server.settings.inlineScoringLimit = 0
        let expected = try pipelinePredictions(Array(smallEvents.utf8))
        try await server.run { client in
            let answer = try await client.post(smallEvents, type: "text/csv", accept: "text/csv")
            #expect(answer.text == expected)
        }
    }
}

@Suite struct OtherRoutes {
    @Test func healthReadyAndModel() async throws {
        let fileHash = try shellOutput("sha256sum '\(modelPath)' | cut -d' ' -f1")
        try await TestServer().run { client in
            let health = try await client.execute(uri: "/health", method: .get)
            #expect(health.status == .ok)
            #expect(try jsonObject(health.text)["status"] as? String == "ok")
            let ready = try await client.execute(uri: "/ready", method: .get)
            #expect(ready.status == .ok)
            #expect(try jsonObject(ready.text)["model_sha256"] as? String == fileHash)
            let model = try jsonObject(try await client.execute(uri: "/model", method: .get).text)
            #expect(model["sha256"] as? String == fileHash)
            #expect(model["path"] as? String == modelPath)
            let onDisk = try Model.load(modelPath)
            #expect(model["features"] as? [String] == onDisk.features)
            #expect(model["threshold"] as? Double == onDisk.threshold)
            #expect((model["training"] as? [String: Any])?["rows"] as? Int == onDisk.training.rows)
            let head = try await client.execute(uri: "/health", method: .head)
            #expect(head.status == .ok)
        }
    }

    /// /model's text from a server of the bundled model changed by `change`.
    func modelShown(_ change: (inout Model) -> Void) async throws -> [String: Any] {
        var model = try Model.load(modelPath)
        change(&model)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fu-changed-\(UUID().uuidString).json").path
        try model.json.rendered().write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let shown = Mutex("")
        try await TestServer(settings: ServerSettings(modelPath: path)).run { client in
            let text = try await client.execute(uri: "/model", method: .get).text
            shown.withLock { $0 = text }
        }
        return try jsonObject(shown.withLock { $0 })
    }

    /// A calibrated model says so on /model (format version 2, and its Platt map).
    @Test func modelShowsACalibration() async throws {
        let shown = try await modelShown {
            $0.calibration = Calibration(a: -1.5, b: 0.25)
            $0.streamPolicy = nil  // the bundled model has one (version 3)
        }
        #expect(shown["version"] as? Int == 2)
        let calibration = try #require(shown["calibration"] as? [String: Any])
        #expect(calibration["method"] as? String == "sigmoid" && calibration["a"] as? Double == -1.5)
        let plain = try await modelShown { $0.streamPolicy = nil }
        #expect(plain["version"] as? Int == 1 && plain["calibration"] == nil && plain["stream_policy"] == nil)
    }

    /// A model with a stream policy shows it on /model (format version 3), as the bundled one does.
    @Test func modelShowsAStreamPolicy() async throws {
        try await TestServer().run { client in
            let bundled = try jsonObject(try await client.execute(uri: "/model", method: .get).text)
            #expect(bundled["version"] as? Int == 3 && bundled["stream_policy"] is [String: Any])
        }
        let shown = try await modelShown { $0.streamPolicy = StreamPolicy(bands: [.init(from: 2, threshold: 0.9), .init(from: 5, threshold: 0.6)]) }
        #expect(shown["version"] as? Int == 3)
        let policy = try #require(shown["stream_policy"] as? [String: Any])
        let bands = try #require(policy["bands"] as? [[String: Any]])
        #expect(bands.map { $0["from_events"] as? Int } == [2, 5] && bands.map { $0["threshold"] as? Double } == [0.9, 0.6])
    }

    @Test func unknownPathsAndMethodsAreJSON404And405() async throws {
        try await TestServer().run { client in
            let missing = try await client.execute(uri: "/predict/now", method: .get)
            #expect(missing.status == .notFound)
            #expect(missing.errorMessage.hasPrefix("no route /predict/now"))
            let get = try await client.execute(uri: "/predict", method: .get)
            #expect(get.status == .methodNotAllowed)
            #expect(get.headers[.allow] == "POST")
            #expect(get.errorMessage == "GET is not allowed on /predict; use POST")
            let post = try await client.execute(uri: "/health", method: .post)
            #expect(post.status == .methodNotAllowed)
            #expect(post.headers[.allow] == "GET, HEAD")
        }
    }

    @Test func metricsCountRequestsByRouteAndStatusAndUsersByClass() async throws {
        let server = TestServer()
        try await server.run { client in
            _ = try await client.post(smallEvents, type: "text/csv")
            _ = try await client.post(smallEvents, type: "text/csv")
            _ = try await client.post("UserId\nA\n", type: "text/csv")
            _ = try await client.execute(uri: "/nowhere", method: .get)
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(metrics.status == .ok)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = metrics.text
            #expect(text.contains(#"fu_http_requests_total{route="/predict",method="POST",status="200"} 2"#))
            #expect(text.contains(#"fu_http_requests_total{route="/predict",method="POST",status="422"} 1"#))
            #expect(text.contains(#"fu_http_requests_total{route="unmatched",method="GET",status="404"} 1"#))
            #expect(text.contains(#"fu_http_request_duration_seconds_count{route="/predict"} 3"#))
            // Two requests of three users each.
            let fake = metricValue(text, #"fu_users_scored_total{class="fake"}"#)
            let real = metricValue(text, #"fu_users_scored_total{class="real"}"#)
            #expect(fake + real == 6)
        }
    }

    /// fu_feature_psi is the PSI of the last --drift-window users scored, as fu-drift
    /// computes it for a table of them.
    @Test func metricsGiveEachFeaturesPSIOverTheLastUsers() async throws {
        var server = TestServer()
        server.settings.driftWindow = 3
        let model = try Model.load(modelPath)
        let limits = EventBatchLimits(maxBytes: 1 << 20, maxEvents: 1000)
        let first = try scoreEventBatch(Array(smallEvents.utf8), model: model, limits: limits).table!
        let second = try scoreEventBatch(Array("UserId,Event,Category\nD4,phone_call,Jobs\n".utf8), model: model, limits: limits).table!
        // The window keeps the last 3: B2 and C3 of the first batch, then D4.
        var last = first
        last.ids = Array(last.ids[1...]) + second.ids
        last.values = Array(first.values[model.features.count...]) + second.values
        let expected = try DriftReport(model: model, table: last)
        try await server.run { client in
            _ = try await client.post(smallEvents, type: "text/csv")
            _ = try await client.post("UserId,Event,Category\nD4,phone_call,Jobs\n", type: "text/csv")
            let text = try await client.execute(uri: "/metrics", method: .get).text
            let series = text.split(separator: "\n").filter { $0.hasPrefix("fu_feature_psi{") }
            #expect(series.count == expected.measured.count)
            for feature in expected.measured {
                let line = series.first { $0.hasPrefix("fu_feature_psi{feature=\"\(feature.feature)\"} ") }
                let value = line.flatMap { Double($0.split(separator: " ").last!) }
                #expect(value.map { abs($0 - feature.psi!) <= 1e-12 } == true, "\(feature.feature): \(String(describing: line))")
            }
        }
    }

    /// A reloaded model without training deciles leaves no fu_feature_psi series behind:
    /// they would report the old model's last values for good.
    @Test func aReloadedModelWithoutDecilesRemovesThePSISeries() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fu-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("model.json").path
        let model = try Model.load(modelPath)
        var withoutDeciles = model
        withoutDeciles.trainingDistribution = nil
        let older = withoutDeciles.json.rendered()
        try model.json.rendered().write(toFile: path, atomically: true, encoding: .utf8)
        var server = TestServer()
        server.settings.modelPath = path
        let store = ModelStore(try LoadedModel.load(path: path))
        try await server.run(store: store) { client in
            _ = try await client.post(smallEvents, type: "text/csv")
            let before = try await client.execute(uri: "/metrics", method: .get).text
            #expect(before.contains("fu_feature_psi{feature=\"total_events\"} "))
            try older.write(toFile: path, atomically: true, encoding: .utf8)
            try store.reload()
            _ = try await client.post(smallEvents, type: "text/csv")
            let after = try await client.execute(uri: "/metrics", method: .get).text
            #expect(!after.contains("fu_feature_psi{"), "\(after)")
        }
    }

    @Test func oneAccessLogLinePerRequestWithIdStatusUsersAndLatency() async throws {
        let server = TestServer()
        try await server.run { client in
            let scored = try await client.post(Array(smallEvents.utf8), headers: [.contentType: "text/csv", HTTPField.Name("X-Request-Id")!: "client-42"])
            #expect(scored.headers[HTTPField.Name("X-Request-Id")!] == "client-42")
            let failed = try await client.post("UserId\nA\n", type: "text/csv")
            let id = try #require(failed.headers[HTTPField.Name("X-Request-Id")!])
            let lines = server.log.all.filter { $0.contains("request id=") }
            #expect(lines.count == 2)
            #expect(lines.first?.hasPrefix("notice: request id=client-42 method=POST path=/predict status=200 users=3 latency_ms=") == true)
            #expect(lines.last?.hasPrefix("warning: request id=\(id) method=POST path=/predict status=422 users=- latency_ms=") == true)
        }
    }

    @Test func reloadSwapsAValidModelAndKeepsTheOldOneOnAFailure() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fu-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("model.json").path
        let original = try String(contentsOfFile: modelPath, encoding: .utf8)
        try original.write(toFile: path, atomically: true, encoding: .utf8)
        var server = TestServer()
        server.settings.modelPath = path
        let store = ModelStore(try LoadedModel.load(path: path))
        try await server.run(store: store) { client in
            let before = try await client.post(smallEvents, type: "text/csv").predictions
            // Threshold 0: every user is fake.
            let everyoneFake = original.replacingOccurrences(
                of: #""threshold": [0-9.e-]+"#, with: #""threshold": 0"#, options: .regularExpression)
            #expect(everyoneFake != original)
            try everyoneFake.write(toFile: path, atomically: true, encoding: .utf8)
            try store.reload()
            let after = try await client.post(smallEvents, type: "text/csv").predictions
            #expect(after.map(\.1) == [1, 1, 1])
            #expect(after.map(\.2) == before.map(\.2))
            let sha = try jsonObject(try await client.execute(uri: "/model", method: .get).text)["sha256"] as? String
            try "{\"format\": \"fu-model\", \"version\": 1, \"kind\": \"logistic_regression\"".write(toFile: path, atomically: true, encoding: .utf8)
            #expect(throws: ToolError.self) { try store.reload() }
            let kept = try await client.post(smallEvents, type: "text/csv").predictions
            #expect(kept.map(\.1) == [1, 1, 1])
            #expect(try jsonObject(try await client.execute(uri: "/model", method: .get).text)["sha256"] as? String == sha)
        }
    }
}

func jsonObject(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

func metricValue(_ text: String, _ series: String) -> Int {
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Int(line.dropFirst(series.count + 1)) ?? -1
    }
    return 0
}

func shellOutput(_ command: String, stdin: [UInt8]? = nil) throws -> String {
    String(decoding: try shellBytes(command, stdin: stdin), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

func shellBytes(_ command: String, stdin: [UInt8]? = nil) throws -> [UInt8] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command]
    let output = Pipe()
    process.standardOutput = output
    let input = Pipe()
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin)) }
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return [UInt8](data)
}

/// zstd-compressed bytes, by the zstd command (setup.sh installs it).
func zstdCompress(_ bytes: [UInt8]) throws -> [UInt8] {
    try shellBytes("zstd -q -c", stdin: bytes)
}
