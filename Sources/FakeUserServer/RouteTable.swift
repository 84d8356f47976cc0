import Hummingbird

/// The server's paths and the methods each takes: an unknown path is 404, a known path with
/// another method 405 with `Allow`, both as JSON errors. A route ending in `/{id}` takes
/// any one path component there (`/users/{id}`).
struct RouteTable: Sendable {
    let methods: [String: [HTTPRequest.Method]]

    /// The route `path` takes (what metrics and logs call it), or nil.
    func route(_ path: String) -> String? {
        if methods[path] != nil { return path }
        for key in methods.keys where key.hasSuffix("/{id}") {
            let prefix = key.dropLast("{id}".count)
            if path.hasPrefix(prefix), path.count > prefix.count, !path.dropFirst(prefix.count).contains("/") { return key }
        }
        return nil
    }
}

struct RouteTableMiddleware: RouterMiddleware {
    typealias Context = ServeContext
    let routes: RouteTable

    func handle(_ request: Request, context: ServeContext, next: (Request, ServeContext) async throws -> Response) async throws -> Response {
        guard let route = routes.route(request.uri.path), let allowed = routes.methods[route] else {
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
