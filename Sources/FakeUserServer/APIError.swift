import FakeUserKit
import Hummingbird
import NIOCore
import NIOHTTP1

/// A failed request: a status and a message, answered as `{"error": "..."}`.
public struct APIError: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var message: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    init(parserError: HTTPParserError) {
        self.init(.badRequest, "malformed HTTP request: \(parserError.debugDescription)")
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response()
    }

    func response() -> Response {
        var response = jsonResponse(body, status: status)
        response.headers.append(contentsOf: headers)
        return response
    }

    /// `{"error": "..."}` and a line break.
    var body: [UInt8] { Array("{\"error\": \(jsonString(message))}\n".utf8) }

    /// The client-facing form of any error thrown while answering a request.
    static func from(_ error: any Error) -> APIError? {
        switch error {
        case let error as APIError:
            return error
        case let failure as BatchFailure:
            switch failure {
            case .malformed(let message): return APIError(.badRequest, message)
            case .missingColumns(let message): return APIError(.unprocessableContent, message)
            case .tooLarge(let message): return APIError(.contentTooLarge, message)
            }
        case is NIOTooManyBytesError:
            return APIError(.contentTooLarge, "request body is too large")
        case let error as HTTPParserError:
            // The client broke the HTTP exchange, e.g. hung up in the middle of its body.
            return APIError(parserError: error)
        case let error as HTTPError:
            return APIError(error.status, error.body ?? error.status.reasonPhrase)
        default:
            return nil
        }
    }
}

func jsonResponse(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
    Response(
        status: status, headers: [.contentType: "application/json; charset=utf-8"],
        body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
}

func jsonResponse(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
    jsonResponse(Array(value.rendered().utf8), status: status)
}
