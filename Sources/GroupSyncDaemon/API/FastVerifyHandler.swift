import Foundation
import GroupSync
import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTPTypes
import Prometheus
import Verification

/// Answers `GET /v1/verify` on the event loop that read it, from the in-memory index,
/// without the hop to Swift's cooperative pool and back that every routed request makes
/// (that hop is most of the API's latency under load). It sits in each HTTP connection's
/// pipeline ahead of the router and answers only what it can answer exactly as the router
/// would: a well-formed snapshot-only verify (no `live`), with the bearer token when the
/// listener needs one, while an index is in force. Everything else (other paths, errors,
/// a missing or wrong token, `live=true`, answers from the store) goes
/// on to the router unchanged, which then writes the same responses as before.
///
/// Responses stay in request order: while a request handed to the router has not been
/// answered, later ones on the connection follow it there.
final class FastVerifyHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let answers: IndexedAnswers
    private let token: [UInt8]?
    private let serverName: String
    /// Requests handed to the router whose response has not ended yet.
    private var routed = 0
    /// The parts of the request being read: answered here (dropped), or the router's.
    private var answeringCurrent = false
    private var date = HTTPDate()

    private let answered: Counter?

    init(answers: IndexedAnswers, token: [UInt8]?, serverName: String, answered: Counter? = nil) {
        self.answers = answers
        self.token = token
        self.serverName = serverName
        self.answered = answered
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            if routed == 0, let body = answer(request) {
                answeringCurrent = true
                respond(context: context, body: body, close: Self.asksToClose(request))
                answered?.increment()
            } else {
                answeringCurrent = false
                routed += 1
                context.fireChannelRead(data)
            }
        case .body:
            if !answeringCurrent { context.fireChannelRead(data) }
        case .end:
            if answeringCurrent { answeringCurrent = false } else { context.fireChannelRead(data) }
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), routed > 0 { routed -= 1 }
        context.write(data, promise: promise)
    }

    /// The JSON body of the answer, or nil when the router should handle the request.
    private func answer(_ request: HTTPRequest) -> [UInt8]? {
        guard request.method == .get, let path = request.path, path.hasPrefix(APIRoutes.verifyPath),
              let service = answers.service else { return nil }
        if let token, !BearerTokenMiddleware<BasicRequestContext>.authorizes(request.headerFields[.authorization], token: token) {
            return nil
        }
        guard let query = APIRoutes.VerifyQuery.plain(target: path) ?? Self.routerQuery(path), !query.live,
              let answer = try? service.verifySnapshot(query.user, targets: query.targets)
        else { return nil }
        var bytes = answer.jsonBytes()
        bytes.append(0x0A)
        return bytes
    }

    /// The query as the router reads it, when the path is `/v1/verify`.
    private static func routerQuery(_ path: String) -> APIRoutes.VerifyQuery? {
        let uri = URI(path)
        return uri.path == APIRoutes.verifyPath ? APIRoutes.VerifyQuery(uri.queryParameters) : nil
    }

    /// `Connection: close` (one-shot clients such as `groupsync --server`): answered, then
    /// the connection is closed, as the router does.
    static func asksToClose(_ request: HTTPRequest) -> Bool {
        request.headerFields[.connection].map { $0.lowercased().contains("close") } ?? false
    }

    private func respond(context: ChannelHandlerContext, body: [UInt8], close: Bool) {
        var head = HTTPResponse(status: .ok, headerFields: [
            .contentType: "application/json; charset=utf-8", .contentLength: String(body.count),
            .date: date.now(), .server: serverName,
        ])
        if close { head.headerFields[.connection] = "close" }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: body))), promise: nil)
        if close {
            let written = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
            let channel = context.channel
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}

/// The `Date` header's value (RFC 9110, IMF-fixdate), formatted once a second.
struct HTTPDate {
    private var second: time_t = 0
    private var text = ""

    mutating func now() -> String {
        var clock = time(nil)
        if clock != second {
            second = clock
            var parts = tm()
            gmtime_r(&clock, &parts)
            var buffer = [CChar](repeating: 0, count: 40)
            let count = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
            text = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return text
    }
}
