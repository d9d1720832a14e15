import Foundation
import GroupSync
import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTP1
import Prometheus
import Verification

/// Answers `GET /v1/verify` on the event loop that read it, from the in-memory index,
/// without the hop to Swift's cooperative pool and back that every routed request makes
/// (that hop is most of the API's latency under load). It sits in each HTTP connection's
/// pipeline right after NIO's HTTP/1 parser (``VerifyFirstHTTP1Channel``), ahead of the
/// router, and answers only what it can answer exactly as the router would: a well-formed
/// snapshot-only verify (no `live`), with the bearer token when the listener needs one,
/// while an index is in force. Everything else (other paths, errors, a missing or wrong
/// token, `live=true`, answers from the store) goes on to the router unchanged, which then
/// writes the same responses as before.
///
/// Its answers are written as finished bytes (status line, headers and body in one
/// buffer) below NIO's response encoder, so nothing is converted or encoded on the way
/// out. Responses stay in request order: while a request handed to the router has not
/// been answered, later ones on the connection follow it there.
final class FastVerifyHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let answers: IndexedAnswers
    private let token: [UInt8]?
    /// `\r\nServer: <name>\r\n`, the part of every answer's head after the date.
    private let serverLine: [UInt8]
    /// Requests handed to the router whose response has not ended yet.
    private var routed = 0
    /// The parts of the request being read: answered here (dropped), or the router's.
    private var answeringCurrent = false
    private var date = HTTPDate()
    /// Where finished bytes are written: the context of NIO's response encoder, so they go
    /// straight to the socket (nothing sits between it and the head of the pipeline).
    private var output: ChannelHandlerContext?

    private let answered: Counter?

    init(answers: IndexedAnswers, token: [UInt8]?, serverName: String, answered: Counter? = nil) {
        self.answers = answers
        self.token = token
        self.serverLine = Array("\r\nServer: \(serverName)\r\n".utf8)
        self.answered = answered
    }

    func handlerAdded(context: ChannelHandlerContext) {
        output = try? context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        output = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            if routed == 0, let output, let body = answer(request) {
                answeringCurrent = true
                respond(output, body: body, close: Self.asksToClose(request.headers))
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
    private func answer(_ request: HTTPRequestHead) -> [UInt8]? {
        guard request.method == .GET, request.uri.hasPrefix(APIRoutes.verifyPath), let service = answers.service else { return nil }
        if let token, !BearerTokenMiddleware<BasicRequestContext>.authorizes(Self.authorization(request.headers), token: token) {
            return nil
        }
        guard let query = APIRoutes.VerifyQuery.plain(target: request.uri) ?? Self.routerQuery(request.uri), !query.live,
              let answer = try? service.verifySnapshot(query.user, targets: query.targets)
        else { return nil }
        var bytes = answer.jsonBytes()
        bytes.append(0x0A)
        return bytes
    }

    /// The `Authorization` header when the request has exactly one (the router joins
    /// several into one value, which no token matches).
    static func authorization(_ headers: HTTPHeaders) -> String? {
        let values = headers["authorization"]
        return values.count == 1 ? values[0] : nil
    }

    /// The query as the router reads it, when the path is `/v1/verify`.
    private static func routerQuery(_ target: String) -> APIRoutes.VerifyQuery? {
        let uri = URI(target)
        return uri.path == APIRoutes.verifyPath ? APIRoutes.VerifyQuery(uri.queryParameters) : nil
    }

    /// `Connection: close` (one-shot clients such as `groupsync --server`): answered, then
    /// the connection is closed, as the router does.
    static func asksToClose(_ headers: HTTPHeaders) -> Bool {
        headers[canonicalForm: "connection"].contains { $0.lowercased() == "close" }
    }

    private static let headStart = Array("HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ".utf8)
    private static let dateName = Array("\r\nDate: ".utf8)
    private static let closeLine = Array("Connection: close\r\n".utf8)
    private static let headEnd = Array("\r\n".utf8)

    /// Writes the whole response as one buffer on the encoder's context.
    private func respond(_ output: ChannelHandlerContext, body: [UInt8], close: Bool) {
        let length = String(body.count)
        var buffer = output.channel.allocator.buffer(capacity: 200 + body.count)
        buffer.writeBytes(Self.headStart)
        buffer.writeString(length)
        buffer.writeBytes(Self.dateName)
        buffer.writeString(date.now())
        buffer.writeBytes(serverLine)
        if close { buffer.writeBytes(Self.closeLine) }
        buffer.writeBytes(Self.headEnd)
        buffer.writeBytes(body)
        if close {
            let written = output.eventLoop.makePromise(of: Void.self)
            output.writeAndFlush(NIOAny(buffer), promise: written)
            let channel = output.channel
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
        } else {
            output.writeAndFlush(NIOAny(buffer), promise: nil)
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
