import Foundation
import GroupSync
@testable import GroupSyncDaemon
import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import SyncConfig
import SyncStore
import Testing
import Verification

/// `GET /v1/verify` answered on the event loop (``FastVerifyHandler``): the same bytes the
/// router would send, and everything it cannot answer exactly so handed on untouched, in
/// request order.
@Suite("The event loop's verify answers", .tags(.slapd))
struct FastVerifyTests {
    static let token = Array("test-token-0123456789abcdef".utf8)

    /// A synced store (slapd, `groupsync sync`), its index-backed verification service in
    /// force, and a connection with the handler.
    struct Setup {
        let harness: DaemonHarness
        let service: VerificationService
        let answers: IndexedAnswers
        let channel: EmbeddedChannel
    }

    static func setUp() async throws -> Setup {
        let harness = try await DaemonHarness()
        #expect(try await harness.cli(["sync"]).status == 0)
        let config = try ConfigLoader.load(path: harness.configPath)
        let store = try config.store.open()
        let service = try VerificationService(config: config, store: store, index: try store.loadIndex())
        let answers = IndexedAnswers()
        answers.set(service)
        return Setup(harness: harness, service: service, answers: answers, channel: try channel(answers))
    }

    static func channel(_ answers: IndexedAnswers, token: [UInt8]? = nil) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(FastVerifyHandler(answers: answers, token: token, serverName: "groupsync"))
        try channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 8080)).wait()
        return channel
    }

    static func request(_ path: String, method: HTTPRequest.Method = .get, headers: HTTPFields = [:]) -> HTTPRequest {
        HTTPRequest(method: method, scheme: nil, authority: nil, path: path, headerFields: headers)
    }

    /// Sends a request without a body; returns the response it got here, or nil when it was
    /// passed on (and checks that it was passed on whole, head and end).
    static func send(_ channel: EmbeddedChannel, _ request: HTTPRequest) throws -> (head: HTTPResponse, body: [UInt8])? {
        try channel.writeInbound(HTTPRequestPart.head(request))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        if let passed = try channel.readInbound(as: HTTPRequestPart.self) {
            guard case .head(let head) = passed else { Issue.record("the head was not passed on first"); return nil }
            #expect(head == request)
            guard case .end = try channel.readInbound(as: HTTPRequestPart.self) else { Issue.record("the end was not passed on"); return nil }
            #expect(try channel.readOutbound(as: HTTPResponsePart.self) == nil, "nothing is answered for a request passed on")
            return nil
        }
        guard case .head(let head) = try channel.readOutbound(as: HTTPResponsePart.self),
              case .body(var buffer) = try channel.readOutbound(as: HTTPResponsePart.self),
              case .end(nil) = try channel.readOutbound(as: HTTPResponsePart.self)
        else { Issue.record("no whole response for \(request.path ?? "")"); return nil }
        return (head, buffer.readBytes(length: buffer.readableBytes) ?? [])
    }

    static func expected(_ service: VerificationService, _ user: String, _ targets: [Target]) throws -> [UInt8] {
        try service.verifySnapshot(user, targets: targets).jsonBytes() + [0x0A]
    }

    @Test("a snapshot verify is answered here with the router's JSON and headers; the token is checked")
    func answers() async throws {
        let setup = try await Self.setUp()
        let (service, answers, channel) = (setup.service, setup.answers, setup.channel)

        let landed = try #require(try Self.send(channel, Self.request("/v1/verify?user=alice&policy=Permitted%20Finance&group=sales")))
        #expect(landed.head.status == .ok)
        #expect(landed.head.headerFields[.contentType] == "application/json; charset=utf-8")
        #expect(landed.head.headerFields[.contentLength] == String(landed.body.count))
        #expect(landed.head.headerFields[.server] == "groupsync")
        #expect(landed.head.headerFields[.date]?.hasSuffix(" GMT") == true)
        #expect(landed.body == (try Self.expected(service, "alice", [.group("sales"), .policy("Permitted Finance")])))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(landed.body)) as? [String: Any])
        let results = try #require(json["results"] as? [[String: Any]])
        #expect(results.map { $0["landed"] as? Bool } == [false, true], "alice is not in sales, and lands in Permitted Finance")

        // `Connection: close`: answered, said so, and the connection closed after it.
        var close = HTTPFields()
        close[.connection] = "close"
        let oneShot = try Self.channel(answers)
        let closing = try #require(try Self.send(oneShot, Self.request("/v1/verify?user=alice&group=finance", headers: close)))
        #expect(closing.head.headerFields[.connection] == "close")
        #expect(closing.body == (try Self.expected(service, "alice", [.group("finance")])))
        oneShot.embeddedEventLoop.run()
        #expect(!oneShot.isActive)
        #expect(channel.isActive, "kept open without it")

        // A user the snapshot does not have is an answer too (200, user-unknown), as from the router.
        let unknown = try #require(try Self.send(channel, Self.request("/v1/verify?user=nobody&group=sales")))
        #expect(unknown.body == (try Self.expected(service, "nobody", [.group("sales")])))

        // With a token: answered only when the request carries it (the router answers 401
        // otherwise). A connection each: one passed on holds back the next.
        #expect(try Self.send(try Self.channel(answers, token: Self.token), Self.request("/v1/verify?user=alice&group=finance")) == nil)
        var wrong = HTTPFields()
        wrong[.authorization] = "Bearer test-token-0123456789abcdeX"
        #expect(try Self.send(try Self.channel(answers, token: Self.token), Self.request("/v1/verify?user=alice&group=finance", headers: wrong)) == nil)
        var right = HTTPFields()
        right[.authorization] = "Bearer test-token-0123456789abcdef"
        let guarded = try Self.channel(answers, token: Self.token)
        let authorized = try #require(try Self.send(guarded, Self.request("/v1/verify?user=alice&group=finance", headers: right)))
        #expect(authorized.body == (try Self.expected(service, "alice", [.group("finance")])))
    }

    @Test("what it cannot answer exactly goes on to the router untouched")
    func passesOn() async throws {
        let setup = try await Self.setUp()
        let (service, channel) = (setup.service, setup.channel)
        let passed: [(String, HTTPRequest)] = [
            ("another endpoint", Self.request("/v1/status")),
            ("a path that only starts alike", Self.request("/v1/verifyx?user=alice&group=sales")),
            ("a POST", Self.request("/v1/verify?user=alice&group=sales", method: .post)),
            ("an unknown parameter (the router names it)", Self.request("/v1/verify?user=alice&grup=sales")),
            ("no user", Self.request("/v1/verify?group=sales")),
            ("an unknown policy (a usage error: 400 from the router)", Self.request("/v1/verify?user=alice&policy=Nope")),
            ("no target", Self.request("/v1/verify?user=alice")),
            ("live=true (asks the directory)", Self.request("/v1/verify?user=alice&group=sales&live=true")),
        ]
        for (what, request) in passed {
            #expect(try Self.send(channel, request) == nil, "passed on: \(what)")
            try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
            try channel.writeOutbound(HTTPResponsePart.end(nil))
            while try channel.readOutbound(as: HTTPResponsePart.self) != nil {}
        }
        // Answers from the store (no index yet, or right after a run): the router's.
        let storeBacked = IndexedAnswers()
        storeBacked.set(try VerificationService(config: service.config, store: service.store))
        #expect(storeBacked.service == nil)
        #expect(try Self.send(try Self.channel(storeBacked), Self.request("/v1/verify?user=alice&group=sales")) == nil)
    }

    @Test("while a request passed on is unanswered, later ones follow it, so responses stay in order")
    func keepsOrder() async throws {
        let setup = try await Self.setUp()
        let channel = setup.channel
        let verify = Self.request("/v1/verify?user=alice&group=sales")
        /// The router's response to one request passed on, drained from the channel.
        func routerAnswers() throws {
            try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
            try channel.writeOutbound(HTTPResponsePart.body(ByteBuffer(string: "{}")))
            try channel.writeOutbound(HTTPResponsePart.end(nil))
            while try channel.readOutbound(as: HTTPResponsePart.self) != nil {}
        }
        #expect(try Self.send(channel, Self.request("/v1/status")) == nil)
        #expect(try Self.send(channel, verify) == nil, "pipelined behind an unanswered request: passed on")
        try routerAnswers()
        #expect(try Self.send(channel, verify) == nil, "one of the two passed on is still unanswered")
        try routerAnswers()
        try routerAnswers()
        #expect(try Self.send(channel, verify) != nil, "answered here once the router has answered everything before it")
    }
    @Test("the daemon answers verify on the event loop once its index is built, over TCP and the socket, as the CLI does")
    func daemon() async throws {
        let harness = try await DaemonHarness(tcp: true)
        try await harness.startDaemon()
        let tcp = DaemonClient(endpoint: .tcp(host: "127.0.0.1", port: harness.port), token: harness.token, timeout: 10)
        #expect(try await tcp.request("POST", "/v1/sync").status == 200)
        let query = "/v1/verify?user=alice&policy=Permitted%20Finance&group=sales"
        func answered(_ path: String) async throws -> Int {
            let metrics = try await harness.get("/metrics").text
            let line = metrics.split(separator: "\n").first { $0.hasPrefix("groupsync_api_verify_answers_total{path=\"\(path)\"}") }
            return line.flatMap { $0.split(separator: " ").last }.flatMap { Int($0) } ?? 0
        }
        // Right after the run answers come from the store (the router); the index follows
        // once the store has been quiet for 2 s.
        #expect(try await harness.eventually {
            _ = try await tcp.request("GET", query)
            return try await answered("event_loop") > 0
        })
        let before = try await answered("event_loop")
        let routed = try await answered("router")
        let overTCP = try await tcp.request("GET", query)
        let overSocket = try await harness.get(query)
        #expect(try await answered("event_loop") == before + 2)
        #expect(try await answered("router") == routed)
        #expect(overTCP.status == 200 && overSocket.status == 200)
        let cli = try await harness.cli(["verify", "alice", "--policy", "Permitted Finance", "--group", "sales", "--json"])
        let local = try #require(try JSONSerialization.jsonObject(with: Data(cli.stdout.utf8)) as? [String: Any])
        for response in [overTCP, overSocket] {
            let api = try harness.json(response)
            #expect(NSDictionary(dictionary: api["user"] as! [String: Any]) == NSDictionary(dictionary: local["user"] as! [String: Any]))
            #expect(NSArray(array: api["results"] as! [Any]) == NSArray(array: local["results"] as! [Any]))
        }
        // Without the token, the router's 401 (nothing answered on the event loop).
        let anonymous = DaemonClient(endpoint: .tcp(host: "127.0.0.1", port: harness.port), timeout: 10)
        #expect(try await anonymous.request("GET", query).status == 401)
        #expect(try await answered("event_loop") == before + 2)
        #expect(await harness.stopDaemon() == 0)
    }
}
