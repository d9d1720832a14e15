import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1 child channel with ``FastVerifyHandler`` placed right after NIO's
/// HTTP/1 parser, ahead of the conversion to swift-http-types: a verify answered there
/// reads NIO's request head as parsed and writes its response as bytes, so neither the
/// request nor the response is converted and re-encoded. Everything else takes the same
/// pipeline as `HTTPServerBuilder.http1()`: the swift-http-types codec, the connection
/// state handler, and the router through `handleHTTP`.
struct VerifyFirstHTTP1Channel: HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let makeHandler: @Sendable () -> FastVerifyHandler

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try Self.configure(channel.pipeline.syncOperations, handler: makeHandler(), logger: logger)
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    /// The handlers of a connection, in order; tests build the same pipeline on an embedded channel.
    static func configure(_ pipeline: ChannelPipeline.SynchronousOperations, handler: FastVerifyHandler, logger: Logger) throws {
        // Hummingbird's own decoder limits, as `HTTPServerBuilder.http1()` sets them.
        let defaults = HTTP1Channel.Configuration.DecoderConfiguration()
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = defaults.maxHeaderFieldSize
        limits.maxHeaderListSize = defaults.maxHeaderListSize
        limits.maxHeaderFieldCount = defaults.maxHeaderFieldCount
        try pipeline.configureHTTPServerPipeline(
            withPipeliningAssistance: false, withErrorHandling: false, withOutboundHeaderValidation: false,
            withEncoderConfiguration: .init(), withDecoderLimitConfiguration: limits)
        try pipeline.addHandler(handler)
        try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
        try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
    }

    func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 with `GET /v1/verify` answered on the event loop (see ``VerifyFirstHTTP1Channel``).
    static func verifyFirst(_ makeHandler: @escaping @Sendable () -> FastVerifyHandler) -> HTTPServerBuilder {
        .init { responder in VerifyFirstHTTP1Channel(responder: responder, makeHandler: makeHandler) }
    }
}
