import Hummingbird

/// The server's paths and the methods each takes: an unknown path is 404, a known path with
/// another method 405 with `Allow`, both as JSON errors.
struct RouteTable: Sendable {
    let methods: [String: [HTTPRequest.Method]]

    func contains(_ path: String) -> Bool { methods[path] != nil }
}

struct RouteTableMiddleware: RouterMiddleware {
    typealias Context = ServeContext
    let routes: RouteTable

    func handle(_ request: Request, context: ServeContext, next: (Request, ServeContext) async throws -> Response) async throws -> Response {
        guard let allowed = routes.methods[request.uri.path] else {
            throw APIError(.notFound, "no route \(request.uri.path); routes are \(routes.methods.keys.sorted().joined(separator: ", "))")
        }
        guard allowed.contains(request.method) else {
            let names = allowed.map(\.rawValue).joined(separator: ", ")
            throw APIError(
                .methodNotAllowed, "\(request.method.rawValue) is not allowed on \(request.uri.path); use \(names)",
                headers: [.allow: names])
        }
        return try await next(request, context)
    }
}
