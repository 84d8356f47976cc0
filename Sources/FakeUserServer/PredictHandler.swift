import Foundation
import FakeUserKit
import Hummingbird
import NIOCore
import NIOPosix
import Synchronization

/// `POST /predict`: events in (multipart field `file`, or a raw CSV, JSON Lines, JSON array
/// or zstd body), predictions out, scored by the library exactly as `fu-featurize | fu-score`.
struct PredictHandler: Sendable {
    let store: ModelStore
    let settings: ServerSettings
    let metrics: ServerMetrics

    func handle(_ request: Request, context: ServeContext) async throws -> Response {
        let format = Self.predictionFormat(accept: request.headers[.accept])
        let events = try await Self.events(of: request, settings: settings, eventLoop: context.eventLoop)
        // Taken once: a reload during this request does not change the model it uses.
        let model = store.current.model
        let explain = try Self.explainCount(request.uri.queryParameters.get("explain"), model: model)
        let limits = settings.batchLimits
        // A zstd body may decode to far more than it looks.
        let batch = events.count < settings.inlineScoringLimit && !startsWithZstdFrame(events)
            ? try scoreEventBatch(events, model: model, limits: limits, explain: explain)
            : try await NIOThreadPool.singleton.runIfActive { try scoreEventBatch(events, model: model, limits: limits, explain: explain) }
        context.note.record(users: batch.ids.count)
        let fake = batch.fakeCount
        metrics.recordScored(fake: fake, real: batch.ids.count - fake)
        if settings.driftWindow > 0, let table = batch.table { metrics.recordDrift(table, model: model, window: settings.driftWindow) }
        return Self.predictionResponse(try batch.rendered(as: format), format: format)
    }

    /// The events text of a request (any body `/predict` takes): within the size limit and
    /// the request timeout, a zstd form decoded, the multipart field `file` taken out.
    static func events(of request: Request, settings: ServerSettings, eventLoop: any EventLoop) async throws -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > settings.maxBody {
            throw APIError(.contentTooLarge, "request body is \(length) bytes; the limit is \(settings.maxBody) (--max-body)")
        }
        let layout = try Self.bodyLayout(contentType: request.headers[.contentType], encoding: request.headers[.contentEncoding])
        let body = try await readBody(request, settings: settings, eventLoop: eventLoop)
        if layout.isZstd && !body.isEmpty && !startsWithZstdFrame(body) {
            throw APIError(.badRequest, "Content-Encoding is zstd but the body is not zstd data")
        }
        guard case .multipart(let boundary, let zstd) = layout else { return body }
        let form = zstd
            ? try await NIOThreadPool.singleton.runIfActive {
                try decodeZstdBody(body, limit: settings.maxBody, what: "the multipart body is")
            }
            : body
        return try Self.multipartFile(form, boundary: boundary)
    }

    static func predictionResponse(_ bytes: [UInt8], format: PredictionFormat, status: HTTPResponse.Status = .ok) -> Response {
        let contentType = format == .csv ? "text/csv; charset=utf-8" : "application/json; charset=utf-8"
        return Response(status: status, headers: [.contentType: contentType], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// `?explain=K`: nil when absent, 400 unless K is a whole number from 1 to the model's
    /// feature count.
    static func explainCount(_ text: String?, model: Model) throws -> Int? {
        guard let text else { return nil }
        guard let k = Int(text) else {
            throw APIError(.badRequest, "explain must be a number of reasons from 1 to \(model.features.count) (the model's feature count), not '\(text)'")
        }
        do {
            try Reasons.check(k, featureCount: model.features.count)
        } catch let error as ToolError {
            throw APIError(.badRequest, error.message)
        }
        return k
    }

    /// The whole body, within the size limit and the request timeout. Read in a task of its
    /// own that a timer on the connection's event loop cancels: a task group with a sleeping
    /// task beside the read cost a tenth of a one-event `POST /events`.
    private static func readBody(_ request: Request, settings: ServerSettings, eventLoop: any EventLoop) async throws -> [UInt8] {
        let limit = settings.maxBody
        let timeout = settings.requestTimeout
        // Whichever of the read and the timer ends first decides, under one lock: a body
        // that arrived in time is never a 408, however late the handler resumes.
        let race = BodyRace()
        let reading = Task {
            let buffer = try await request.body.collect(upTo: limit)
            guard race.end(.arrived) else { throw CancellationError() }  // cut short by the timer
            return buffer
        }
        let timer = eventLoop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) {
            if race.end(.late) { reading.cancel() }
        }
        defer { timer.cancel() }
        do {
            // The handler cancelled (at shutdown) stops the read too.
            let buffer = try await withTaskCancellationHandler { try await reading.value } onCancel: { reading.cancel() }
            return Array(buffer.readableBytesView)
        } catch {
            if race.outcome == .late { throw APIError(.requestTimeout, "the request body did not arrive within \(timeout) (--request-timeout)") }
            throw error
        }
    }

    /// The outcome of a body read against its timer: the first to end sets it.
    final class BodyRace: Sendable {
        enum Outcome { case pending, arrived, late }
        private let state = Mutex(Outcome.pending)

        /// Sets the outcome unless the other side set it first; says whether this one did.
        func end(_ outcome: Outcome) -> Bool {
            state.withLock { state in
                guard state == .pending else { return false }
                state = outcome
                return true
            }
        }

        var outcome: Outcome { state.withLock { $0 } }
    }

    // MARK: Content negotiation

    enum BodyLayout: Equatable {
        case raw
        case zstd
        /// `zstd`: sent with Content-Encoding: zstd, so the form itself is compressed.
        case multipart(boundary: String, zstd: Bool)

        var isZstd: Bool {
            switch self {
            case .raw: false
            case .zstd: true
            case .multipart(_, let zstd): zstd
            }
        }
    }

    static let rawTypes: Set<String> = [
        "text/csv", "application/csv", "text/plain", "application/x-ndjson", "application/ndjson", "application/jsonl",
        "application/json", "application/zstd", "application/x-zstd",
    ]

    /// The body's layout from its Content-Type and Content-Encoding. CSV, JSON Lines and
    /// JSON arrays are told apart by their first byte, as every fu tool does, so the types
    /// above only have to be one of them; a missing Content-Type is read the same way.
    static func bodyLayout(contentType: String?, encoding: String?) throws -> BodyLayout {
        var layout = BodyLayout.raw
        if let encoding = encoding.map(mediaType), encoding != "identity" {
            guard encoding == "zstd" else {
                throw APIError(.unsupportedMediaType, "Content-Encoding '\(encoding)' is not supported; send zstd or none")
            }
            layout = .zstd
        }
        guard let contentType else { return layout }
        let type = mediaType(contentType)
        if type == "multipart/form-data" {
            guard let boundary = headerParameter("boundary", in: contentType), !boundary.isEmpty else {
                throw APIError(.badRequest, "multipart/form-data without a boundary")
            }
            return .multipart(boundary: boundary, zstd: layout == .zstd)
        }
        if type == "application/zstd" || type == "application/x-zstd" { return .zstd }
        guard rawTypes.contains(type) else {
            throw APIError(
                .unsupportedMediaType,
                "Content-Type '\(type)' is not supported; send multipart/form-data (field 'file'), text/csv, application/x-ndjson, application/json or application/zstd")
        }
        return layout
    }

    /// JSON unless the client's first acceptable type is CSV (q-values are not weighed).
    static func predictionFormat(accept: String?) -> PredictionFormat {
        for item in (accept ?? "").split(separator: ",") {
            switch mediaType(String(item)) {
            case "text/csv", "text/*": return .csv
            case "application/json", "application/*", "*/*": return .jsonArray
            default: continue
            }
        }
        return .jsonArray
    }

    /// `type/subtype`, lowercased, without parameters. ASCII headers (all but odd ones) on
    /// their bytes: Foundation's trimming and `lowercased()` were a twentieth of a one-event
    /// `POST /events`.
    static func mediaType(_ header: String) -> String {
        let utf8 = header.utf8
        guard utf8.allSatisfy({ $0 < 0x80 }) else {
            let head = header.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            return head.trimmingCharacters(in: .whitespaces).lowercased()
        }
        func isSpace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }  // ASCII's .whitespaces
        var head = utf8.prefix { $0 != UInt8(ascii: ";") }
        while let first = head.first, isSpace(first) { head = head.dropFirst() }
        while let last = head.last, isSpace(last) { head = head.dropLast() }
        return String(decoding: head.map { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    // MARK: Multipart

    /// The bytes of the form field `file`; other fields are ignored.
    static func multipartFile(_ body: [UInt8], boundary: String) throws -> [UInt8] {
        let form: MultipartForm
        do {
            form = try MultipartForm(body, boundary: boundary)
        } catch {
            throw APIError(.badRequest, error.message)
        }
        guard let file = form.field("file", in: body) else {
            let found = form.parts.isEmpty ? "no fields" : "fields \(Self.fieldList(form.parts.map { $0.fieldName ?? "" }))"
            throw APIError(.unprocessableContent, "multipart body has no field 'file' (found \(found)); send the events as -F file=@events.csv")
        }
        return file
    }

    /// The first 10 names, each cut to 64 characters, then how many more: a 16 MB body of
    /// empty parts made a 13.7 MB message (issue 16).
    static func fieldList(_ names: [String], shown: Int = 10, length: Int = 64) -> String {
        let quoted = names.prefix(shown).map { "'\($0.count > length ? $0.prefix(length) + "…" : $0)'" }
        let more = names.count > shown ? " and \(names.count - shown) more" : ""
        return quoted.joined(separator: ", ") + more
    }
}
