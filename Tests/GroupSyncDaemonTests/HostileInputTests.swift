import Foundation
import GroupSyncDaemon
import LDAPTestSupport
import Testing

/// Questions no one should ask, asked through the API and the command line: filter
/// metacharacters, NUL bytes, megabyte strings, invalid UTF-8, DNs with every escape. Each
/// gets a clear error or a correct answer, never a crash, a 500 or a match it should not make.
@Suite("Hostile verification input", .tags(.slapd))
struct HostileInputTests {
    static let people = DaemonHarness.people

    /// Names that must match no one (a filter that leaked would match everyone).
    static let unknownNames = [
        "*", "*)(uid=*", "alice)(|(uid=*", "(|(uid=*))", #"\2a"#, "alice*", "*alice", "uid=*", "ali\\ce",
        "uid=*,\(people)", #"cn=\#\ \,\+\"\\\<\>\;\=x,\#(people)"#, "ålice", "al\u{200B}ice", "\u{202E}ecila",
    ]

    /// Percent-encodes everything but unreserved characters, so any bytes reach the server.
    static func encode(_ bytes: [UInt8]) -> String {
        bytes.map { byte in
            let character = Character(Unicode.Scalar(byte))
            return byte < 0x80 && (character.isLetter || character.isNumber || "-._~".contains(character))
                ? String(character) : String(format: "%%%02X", byte)
        }.joined()
    }

    @Test("the API: metacharacters match no one, even live; NUL, empty and over-long names are 400; invalid UTF-8 is an answer; 1 MB is refused")
    func api() async throws {
        let harness = try await DaemonHarness()
        try await harness.startDaemon()
        #expect(try await harness.post("/v1/sync").status == 200)
        for name in Self.unknownNames {
            for live in ["false", "true"] {
                let response = try await harness.get("/v1/verify?user=\(Self.encode(Array(name.utf8)))&group=finance&live=\(live)")
                #expect(response.status == 200, "\(name): \(response.status) \(response.text)")
                let answer = try harness.json(response)
                #expect(answer["user"] is NSNull, "\(name) matched a user: \(response.text)")
                let results = try #require(answer["results"] as? [[String: Any]])
                #expect(results.first?["landed"] as? Bool == false, "\(name)")
            }
            let explain = try await harness.get("/v1/explain?user=\(Self.encode(Array(name.utf8)))")
            #expect(explain.status == 404, "\(name): \(explain.status) \(explain.text)")
        }
        // The right user by DN, escaped another way, still matches.
        let byDN = try harness.json(try await harness.get("/v1/verify?user=\(Self.encode(Array("UID=Alice, OU=People,dc=EXAMPLE,dc=com".utf8)))&group=finance"))
        #expect((byDN["user"] as? [String: Any])?["username"] as? String == "alice", "\(byDN)")

        for (bytes, expected) in [
            (Array("ali".utf8) + [0] + Array("ce".utf8), "control character U+0000 at position 3"),
            ([UInt8](), "give ?user="),
            (Array(" \t\u{2003}".utf8), "the user name is empty"),
            (Array(repeating: UInt8(ascii: "a"), count: 5000), "is 5000 bytes long"),
        ] {
            let response = try await harness.get("/v1/verify?user=\(Self.encode(bytes))&group=finance")
            #expect(response.status == 400, "\(response.status) \(response.text)")
            #expect(response.text.contains(expected), "\(response.text)")
        }
        let group = try await harness.get("/v1/verify?user=alice&group=fin%00ance")
        #expect(group.status == 400 && group.text.contains("the group name contains the control character U+0000"), "\(group.text)")

        // Bytes that are not UTF-8: repaired on decoding, so a name that matches no one.
        let invalid = try await harness.get("/v1/verify?user=\(Self.encode([0x61, 0xFF, 0xFE, 0x62]))&group=finance")
        #expect(invalid.status == 200 || invalid.status == 400, "\(invalid.status) \(invalid.text)")
        if invalid.status == 200 { #expect(try harness.json(invalid)["user"] is NSNull) }

        // A megabyte of name: the HTTP layer refuses it at once (the client reads that early
        // answer instead of pushing the rest), and the daemon carries on.
        let huge = "/v1/verify?user=" + String(repeating: "a", count: 1 << 20) + "&group=finance"
        let started = ContinuousClock.now
        #expect(try await harness.get(huge).status == 400)
        #expect(ContinuousClock.now - started < .seconds(30), "the client waited out its timeout")
        #expect(try await harness.get("/healthz").status == 200)
        #expect(try await harness.get("/v1/verify?user=alice&group=finance").status == 200)
        #expect(await harness.stopDaemon() == 0, "the daemon exits cleanly after all of it")
    }

    @Test("the command line: metacharacters match no one (live too); over-long names and bad CSV rows get clear errors")
    func commandLine() async throws {
        let harness = try await DaemonHarness()
        #expect(try await harness.cli(["sync"]).status == 0)
        for name in Self.unknownNames {
            let result = try await harness.cli(["verify", name, "--group", "finance", "--live", "--json"])
            #expect(result.status == 1, "\(name): \(result.status) \(result.stderr)")
            let answer = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(name): \(result.stdout)")
            #expect(answer["user"] is NSNull, "\(name) matched a user")
        }
        let long = try await harness.cli(["verify", String(repeating: "x", count: 100_000), "--group", "finance"])
        #expect(long.status == 2)
        #expect(long.stderr.contains("is 100000 bytes long; a username, address, DN or group name is at most 4096"), "\(long.stderr)")
        #expect(long.stderr.count < 1000, "the error does not echo the whole name")

        // CSV files with a NUL, invalid UTF-8, a megabyte cell: each refused with its line.
        let good = Array("user,group\nalice,finance\n".utf8)
        for (name, row, expected) in [
            ("nul", Array("al".utf8) + [0] + Array("ice,finance\n".utf8), "nul.csv:3: the user name contains the control character U+0000 at position 2"),
            ("latin1", [0x61, 0xFF, 0x62] + Array(",finance\n".utf8), "latin1.csv:3: not valid UTF-8"),
            ("huge", Array(repeating: UInt8(ascii: "z"), count: 1 << 20) + Array(",finance\n".utf8), "huge.csv:3: the user name is 1048576 bytes long"),
        ] {
            let csv = harness.folder.appendingPathComponent("\(name).csv")
            try Data(good + row).write(to: csv)
            let batch = try await harness.cli(["verify", "--file", csv.path])
            #expect(batch.status == 2, "\(name): \(batch.status) \(batch.stderr)")
            #expect(batch.stderr.contains(expected), "\(name): \(batch.stderr.prefix(300))")
            #expect(batch.stdout.count + batch.stderr.count < 2000, "\(name): the error does not echo the megabyte")
        }
    }
}
