import Foundation
import GroupSync
@testable import GroupSyncDaemon
import HTTPTypes
import Logging
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
    /// force (its clock stopped), and a connection with the handler.
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
        // One instant for every answer: `age_seconds` would otherwise differ between the
        // handler's answer and the expected one whenever a second boundary falls between them.
        let frozen = Date()
        let service = try VerificationService(config: config, store: store, index: try store.loadIndex(), now: { frozen })
        let answers = IndexedAnswers()
        answers.set(service)
        return Setup(harness: harness, service: service, answers: answers, channel: try channel(answers))
    }

    /// A connection with the daemon's pipeline (``VerifyFirstHTTP1Channel``), fed bytes.
    static func channel(_ answers: IndexedAnswers, token: [UInt8]? = nil) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try VerifyFirstHTTP1Channel.configure(
            channel.pipeline.syncOperations, handler: FastVerifyHandler(answers: answers, token: token, serverName: "groupsync"),
            logger: Logger(label: "test"))
        try channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 8080)).wait()
        return channel
    }

    struct Request {
        var method = "GET"
        var path: String
        var headers: [(String, String)] = []

        init(_ path: String, method: String = "GET", headers: [(String, String)] = []) {
            self.path = path
            self.method = method
            self.headers = headers
        }

        var bytes: ByteBuffer {
            ByteBuffer(string: "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\n"
                + headers.map { "\($0.0): \($0.1)\r\n" }.joined() + "\r\n")
        }
    }

    /// A response as it left the pipeline: status, headers (names lower-cased), body.
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
    }

    /// Sends a request without a body; returns the response written here, or nil when it
    /// was passed on toward the router (and checks that it was passed on whole, head and
    /// end, and that nothing was written).
    static func send(_ channel: EmbeddedChannel, _ request: Request) throws -> Response? {
        try channel.writeInbound(request.bytes)
        if let passed = try channel.readInbound(as: HTTPRequestPart.self) {
            guard case .head(let head) = passed else { Issue.record("the head was not passed on first"); return nil }
            #expect(head.path == request.path && head.method.rawValue == request.method)
            guard case .end = try channel.readInbound(as: HTTPRequestPart.self) else { Issue.record("the end was not passed on"); return nil }
            #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "nothing is answered for a request passed on")
            return nil
        }
        guard let response = try readResponse(channel) else { Issue.record("no response for \(request.path)"); return nil }
        return response
    }

    /// Everything written to the socket so far, read as one HTTP response.
    static func readResponse(_ channel: EmbeddedChannel) throws -> Response? {
        var written: [UInt8] = []
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) { written += buffer.readBytes(length: buffer.readableBytes) ?? [] }
        let separator = Array("\r\n\r\n".utf8)
        guard let end = (0..<max(0, written.count - 3)).first(where: { Array(written[$0..<$0 + 4]) == separator }) else { return nil }
        let lines = String(decoding: written[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, statusParts[0] == "HTTP/1.1", let status = Int(statusParts[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Response(status: status, headers: headers, body: Array(written[(end + 4)...]))
    }

    /// The router's answer to one request passed on, written back through the pipeline
    /// and drained from the socket.
    static func routerAnswers(_ channel: EmbeddedChannel, body: String? = nil) throws -> Response? {
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok, headerFields: [.contentLength: String(body?.utf8.count ?? 0)])))
        if let body { try channel.writeOutbound(HTTPResponsePart.body(ByteBuffer(string: body))) }
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        return try readResponse(channel)
    }

    static func expected(_ service: VerificationService, _ user: String, _ targets: [Target]) throws -> [UInt8] {
        try service.verifySnapshot(user, targets: targets).jsonBytes() + [0x0A]
    }

    @Test("a snapshot verify is answered here with the router's JSON and headers; the token is checked")
    func answers() async throws {
        let setup = try await Self.setUp()
        let (service, answers, channel) = (setup.service, setup.answers, setup.channel)

        let landed = try #require(try Self.send(channel, Request("/v1/verify?user=alice&policy=Permitted%20Finance&group=sales")))
        #expect(landed.status == 200)
        #expect(landed.headers["content-type"] == "application/json; charset=utf-8")
        #expect(landed.headers["content-length"] == String(landed.body.count))
        #expect(landed.headers["server"] == "groupsync")
        #expect(landed.headers["date"].map { $0.count == 29 && $0.hasSuffix(" GMT") } == true, "an IMF-fixdate")
        #expect(landed.headers.count == 4)
        #expect(landed.body == (try Self.expected(service, "alice", [.group("sales"), .policy("Permitted Finance")])))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(landed.body)) as? [String: Any])
        let results = try #require(json["results"] as? [[String: Any]])
        #expect(results.map { $0["landed"] as? Bool } == [false, true], "alice is not in sales, and lands in Permitted Finance")

        // `Connection: close`: answered, said so, and the connection closed after it.
        let oneShot = try Self.channel(answers)
        let closing = try #require(try Self.send(oneShot, Request("/v1/verify?user=alice&group=finance", headers: [("Connection", "close")])))
        #expect(closing.headers["connection"] == "close")
        #expect(closing.body == (try Self.expected(service, "alice", [.group("finance")])))
        oneShot.embeddedEventLoop.run()
        #expect(!oneShot.isActive)
        #expect(channel.isActive, "kept open without it")

        // A user the snapshot does not have is an answer too (200, user-unknown), as from the router.
        let unknown = try #require(try Self.send(channel, Request("/v1/verify?user=nobody&group=sales")))
        #expect(unknown.body == (try Self.expected(service, "nobody", [.group("sales")])))

        // With a token: answered only when the request carries it (the router answers 401
        // otherwise). A connection each: one passed on holds back the next.
        let path = "/v1/verify?user=alice&group=finance"
        #expect(try Self.send(try Self.channel(answers, token: Self.token), Request(path)) == nil)
        let wrong = ("Authorization", "Bearer test-token-0123456789abcdeX")
        let right = ("authorization", "Bearer test-token-0123456789abcdef")
        #expect(try Self.send(try Self.channel(answers, token: Self.token), Request(path, headers: [wrong])) == nil)
        // Two Authorization headers: the router reads them as one value, which no token matches.
        #expect(try Self.send(try Self.channel(answers, token: Self.token), Request(path, headers: [right, wrong])) == nil)
        #expect(try Self.send(try Self.channel(answers, token: Self.token), Request(path, headers: [right, right])) == nil)
        let guarded = try Self.channel(answers, token: Self.token)
        let authorized = try #require(try Self.send(guarded, Request(path, headers: [right])))
        #expect(authorized.body == (try Self.expected(service, "alice", [.group("finance")])))
    }

    @Test("what it cannot answer exactly goes on to the router untouched")
    func passesOn() async throws {
        let setup = try await Self.setUp()
        let (service, channel) = (setup.service, setup.channel)
        let passed: [(String, Request)] = [
            ("another endpoint", Request("/v1/status")),
            ("a path that only starts alike", Request("/v1/verifyx?user=alice&group=sales")),
            ("a POST", Request("/v1/verify?user=alice&group=sales", method: "POST")),
            ("an unknown parameter (the router names it)", Request("/v1/verify?user=alice&grup=sales")),
            ("no user", Request("/v1/verify?group=sales")),
            ("an unknown policy (a usage error: 400 from the router)", Request("/v1/verify?user=alice&policy=Nope")),
            ("no target", Request("/v1/verify?user=alice")),
            ("live=true (asks the directory)", Request("/v1/verify?user=alice&group=sales&live=true")),
        ]
        for (what, request) in passed {
            #expect(try Self.send(channel, request) == nil, "passed on: \(what)")
            #expect(try Self.routerAnswers(channel)?.status == 200, "the router's response goes out through the same pipeline")
        }
        // Answers from the store (no index yet, or right after a run): the router's.
        let storeBacked = IndexedAnswers()
        storeBacked.set(try VerificationService(config: service.config, store: service.store))
        #expect(storeBacked.service == nil)
        #expect(try Self.send(try Self.channel(storeBacked), Request("/v1/verify?user=alice&group=sales")) == nil)
    }

    @Test("while a request passed on is unanswered, later ones follow it, so responses stay in order")
    func keepsOrder() async throws {
        let setup = try await Self.setUp()
        let channel = setup.channel
        let verify = Request("/v1/verify?user=alice&group=sales")
        #expect(try Self.send(channel, Request("/v1/status")) == nil)
        #expect(try Self.send(channel, verify) == nil, "pipelined behind an unanswered request: passed on")
        #expect(try Self.routerAnswers(channel, body: "{}")?.body == Array("{}".utf8))
        #expect(try Self.send(channel, verify) == nil, "one of the two passed on is still unanswered")
        _ = try Self.routerAnswers(channel, body: "{}")
        _ = try Self.routerAnswers(channel, body: "{}")
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
