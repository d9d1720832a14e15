import Foundation
import Hummingbird

/// Every request on the TCP listener must carry `Authorization: Bearer <token>`; the
/// token is compared in constant time. 401 otherwise (the Unix socket relies on file
/// permissions instead).
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard Self.authorizes(request.headers[.authorization], token: token) else {
            var response = APIResponse.error("missing or wrong bearer token", status: .unauthorized)
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        return try await next(request, context)
    }

    /// Whether an `Authorization` header carries `Bearer <token>` (compared in constant time).
    static func authorizes(_ header: String?, token: [UInt8]) -> Bool {
        guard let header, header.hasPrefix("Bearer ") else { return false }
        return constantTimeEquals(Array(header.dropFirst("Bearer ".count).utf8), token)
    }

    /// Takes as long for every input of a given length, whatever matches.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0xFF)
        }
        return difference == 0
    }

    /// Reads a token file: its first line, without surrounding whitespace; never empty.
    static func readToken(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path),
              let line = String(data: data, encoding: .utf8)?.split(whereSeparator: \.isNewline).first
        else { throw DaemonError("cannot read the token file \(path)") }
        let token = line.trimmingCharacters(in: .whitespaces)
        guard token.count >= 16 else { throw DaemonError("the token in \(path) is shorter than 16 characters; use a long random token") }
        return Array(token.utf8)
    }
}

/// A reason the daemon cannot start.
public struct DaemonError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
