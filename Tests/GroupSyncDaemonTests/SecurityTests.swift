import Foundation
@testable import GroupSyncDaemon
import Hummingbird
import LDAPTestSupport
import SyncStore
import Testing

/// Security defaults, each tried: secrets stay out of logs, the process list and the store;
/// files are not open to other users; nothing changes state without the token; a caller
/// cannot choose what the daemon binds as or searches.
@Suite("Security defaults", .tags(.slapd))
struct SecurityTests {
    /// Everything a debug-level daemon and CLI print, the store's bytes and the process's
    /// command line and environment: none holds the bind password or the API token.
    @Test("secrets are never in logs (debug level), the process list or the store; files and socket are not open to others")
    func secretsStayPut() async throws {
        let harness = try await DaemonHarness(tcp: true)
        let wrongToken = "not-the-token-but-just-as-secret"
        try await harness.startDaemon(flags: ["--debug"])
        let pid = try #require(harness.daemon?.pid)
        let right = DaemonClient(endpoint: .tcp(host: "127.0.0.1", port: harness.port), token: harness.token, timeout: 60)
        let wrong = DaemonClient(endpoint: .tcp(host: "127.0.0.1", port: harness.port), token: wrongToken, timeout: 10)
        #expect(try await right.request("POST", "/v1/sync").status == 200)
        #expect(try await right.request("GET", "/v1/verify?user=alice&group=finance&live=true").status == 200)
        #expect(try await wrong.request("POST", "/v1/sync").status == 401)

        var seen: [String: String] = [:]
        seen["/proc cmdline"] = String(decoding: try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")), as: UTF8.self)
        seen["/proc environ"] = String(decoding: try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ")), as: UTF8.self)
        // The CLI at debug level: a sync, a live verification, the connection check.
        for arguments in [["sync", "--debug"], ["verify", "alice", "--group", "finance", "--live", "--debug"], ["check", "--debug"]] {
            let result = try await harness.cli(arguments)
            seen["groupsync " + arguments.joined(separator: " ")] = result.stdout + result.stderr
        }
        #expect(await harness.stopDaemon() == 0)
        seen["daemon log"] = harness.log
        #expect(harness.log.contains("debug"), "the daemon logged at debug level")
        let var_ = harness.folder.appendingPathComponent("var")
        for name in try FileManager.default.contentsOfDirectory(atPath: var_.path) where !name.hasSuffix(".sock") {
            seen["store file \(name)"] = String(decoding: try Data(contentsOf: var_.appendingPathComponent(name)), as: Unicode.ASCII.self)
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: var_.appendingPathComponent(name).path)[.posixPermissions] as? Int)
            #expect(mode & 0o007 == 0, "\(name) has mode \(String(mode, radix: 8))")
        }
        #expect(seen.keys.contains("store file groupsync.sqlite"))
        for (place, text) in seen {
            for secret in [DirectoryFixture.servicePassword, harness.token, wrongToken] {
                #expect(!text.contains(secret), "\(place) shows a secret")
            }
        }
    }

    @Test("over TCP no route answers, and nothing changes, without the token")
    func nothingWithoutToken() async throws {
        let harness = try await DaemonHarness(tcp: true)
        try await harness.startDaemon()
        let anonymous = DaemonClient(endpoint: .tcp(host: "127.0.0.1", port: harness.port), timeout: 10)
        let routes = try OpenAPITests.documentedRoutes()
        #expect(routes.count >= 10)
        for route in routes {
            let path = route.path.replacingOccurrences(of: "{id}", with: "1")
            let response = try await anonymous.request(route.method, path, body: route.method == "POST" ? Data("{}".utf8) : nil)
            #expect(response.status == 401, "\(route.method) \(path) answered \(response.status) without a token")
        }
        #expect(try harness.store().runs().isEmpty, "an unauthenticated request started a run")
        #expect(await harness.stopDaemon() == 0)
    }

    @Test("a caller cannot pick the bind identity, the server or a search base: unknown fields and parameters are refused")
    func noCallerChosenScope() async throws {
        let harness = try await DaemonHarness()
        try await harness.startDaemon()
        let sync = try await harness.post("/v1/sync", ["bind_dn": "cn=admin,dc=example,dc=com", "base": "dc=example,dc=com", "url": "ldap://evil"])
        #expect(sync.status == 400)
        #expect(sync.text.contains(#"unknown fields \"base\", \"bind_dn\", \"url\"; a sync request takes directory, directories, full, force, wait, dry_run"#), "\(sync.text)")
        #expect(try harness.store().runs().isEmpty)
        for path in ["/v1/verify?user=alice&group=finance&live=true&base=dc%3Dexample", "/v1/explain?user=alice&bind_dn=cn%3Dadmin", "/v1/status?url=x"] {
            let response = try await harness.get(path)
            #expect(response.status == 400, "\(path): \(response.status)")
            #expect(response.text.contains("unknown query parameter"), "\(response.text)")
        }
        // The command line has no such options either.
        for option in ["--base", "--bind-dn", "--url"] {
            let result = try await harness.cli(["verify", "alice", "--group", "finance", "--live", option, "x"])
            #expect(result.status == 2, "\(option): \(result.stderr)")
            #expect(result.stderr.contains("Unknown option '\(option)'"), "\(result.stderr)")
        }
        #expect(await harness.stopDaemon() == 0)
    }

    @Test("the token comparison looks at every byte, whatever the lengths")
    func constantTimeComparison() {
        let token = Array("test-token-0123456789abcdef".utf8)
        #expect(BearerTokenMiddleware<BasicRequestContext>.constantTimeEquals(token, token))
        for other in ["", "t", "test-token-0123456789abcde", "test-token-0123456789abcdeF", "Xest-token-0123456789abcdef", "test-token-0123456789abcdef0"] {
            #expect(!BearerTokenMiddleware<BasicRequestContext>.constantTimeEquals(Array(other.utf8), token), "\(other)")
        }
        // A shorter prefix padded with NULs must not pass either.
        #expect(!BearerTokenMiddleware<BasicRequestContext>.constantTimeEquals(token + [0], token))
    }

    @Test("a secret file every user can read is refused, with the key and the fix")
    func worldReadableSecret() async throws {
        let harness = try await DaemonHarness(tcp: true)
        for file in ["ldap-password", "api-token"] {
            let path = harness.folder.appendingPathComponent(file).path
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
            let result = try await harness.cli(["status"])
            #expect(result.status == 2, "\(result.stderr)")
            #expect(result.stderr.contains("every user on this machine can read it (mode 644)"), "\(result.stderr)")
            #expect(result.stderr.contains(file == "ldap-password" ? "password_file" : "token_file"), "\(result.stderr)")
            try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: path)
        }
        #expect(try await harness.cli(["status"]).status == 0)
    }
}
