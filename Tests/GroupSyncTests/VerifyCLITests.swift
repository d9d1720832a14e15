import Foundation
import LDAPTestSupport
import Testing

@Suite("verify, explain and report on the command line", .tags(.slapd))
struct VerifyCLITests {
    @Test("exit codes 0, 1, 2, 3 and the JSON fields scripts rely on")
    func verifyCommand() async throws {
        let harness = try await VerificationFixture.harness()
        let config = ["--config", harness.configPath]

        let never = try CLITests.run(["verify", "alice", "--group", "finance"] + config)
        #expect(never.status == 3, "no snapshot yet")
        #expect(never.stderr.contains("run groupsync sync first"))

        let sync = try CLITests.run(["sync"] + config)
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(sync.stdout.contains("landing: 4 of 7 expected placements landed across 3 intents"))

        let landed = try CLITests.run(["verify", "alice", "--policy", "Permitted Finance", "--json"] + config)
        #expect(landed.status == 0, "\(landed.stderr)")
        let json = try #require(landed.json)
        let user = try #require(json["user"] as? [String: Any])
        for key in ["id", "dn", "username", "mail"] { #expect(user.keys.contains(key)) }
        let snapshot = try #require(json["snapshot"] as? [String: Any])
        #expect(snapshot["run_id"] as? Int == 1)
        #expect((snapshot["finished_at"] as? String)?.hasSuffix("Z") == true)
        let result = try #require((json["results"] as? [[String: Any]])?.first)
        #expect(result["target"] as? [String: String] == ["kind": "policy", "name": "Permitted Finance"])
        #expect(result["landed"] as? Bool == true)
        #expect((result["paths"] as? [[String]])?.first?.first == "alice")
        #expect(result["reason"] is NSNull)

        let text = try CLITests.run(["verify", "alice", "--policy", "Permitted Finance"] + config)
        #expect(text.stdout.contains("alice → finance → all-finance → permitted-senders-finance → profile group PS Finance → policy Permitted Finance"))

        let notLanded = try CLITests.run(["verify", "carol", "--group", "finance", "--json"] + config)
        #expect(notLanded.status == 1)
        let reason = try #require((notLanded.json?["results"] as? [[String: Any]])?.first)
        #expect(reason["landed"] as? Bool == false)
        #expect(reason["reason_code"] as? String == "not-a-member")

        let unknownUser = try CLITests.run(["verify", "nobody", "--group", "finance", "--json"] + config)
        #expect(unknownUser.status == 1)
        #expect(unknownUser.json?["user"] is NSNull)

        let badPolicy = try CLITests.run(["verify", "alice", "--policy", "Nope"] + config)
        #expect(badPolicy.status == 2)
        #expect(badPolicy.stderr.contains("no policy named \"Nope\""))
        let noTarget = try CLITests.run(["verify", "alice"] + config)
        #expect(noTarget.status == 2)

        let csv = harness.folder.appendingPathComponent("rows.csv")
        try "user,policy\nalice,Permitted Finance\ncarol,Permitted Finance\n".write(to: csv, atomically: true, encoding: .utf8)
        let batch = try CLITests.run(["verify", "--file", csv.path] + config)
        #expect(batch.status == 1)
        #expect(batch.stdout.contains("1 of 2 rows landed"))

        let explain = try CLITests.run(["explain", "alice", "--json"] + config)
        #expect(explain.status == 0)
        let groups = try #require(explain.json?["groups"] as? [[String: Any]])
        #expect(groups.allSatisfy { $0["dn"] != nil && $0["name"] != nil && $0["direct"] != nil && $0["path"] != nil })
        let policies = try #require(explain.json?["policies"] as? [[String: Any]])
        #expect(policies.allSatisfy { $0["name"] != nil && $0["type"] != nil && $0["applies_to"] != nil && $0["via"] != nil })
        #expect((explain.json?["conflicts"] as? [[String: Any]])?.count == 1)
        #expect(try CLITests.run(["explain", "nobody"] + config).status == 1)

        let report = try CLITests.run(["report", "--json"] + config)
        #expect(report.status == 1, "frank never landed and the lint has errors")
        #expect((report.json?["intents"] as? [[String: Any]])?.count == 3)
        #expect((report.json?["lint"] as? [[String: Any]])?.isEmpty == false)
    }
}
