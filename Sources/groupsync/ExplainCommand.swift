import ArgumentParser
import Foundation
import GroupSync

struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Every group, profile group, relay profile and policy that applies to a user, and conflicts.",
        discussion: "Exit codes: 0 · 1 unknown user · 2 usage or configuration error · 3 store unreachable or never synced."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The user: username, mail, alias or DN.")
    var user: String

    @Flag(help: "Print one JSON document on standard output.")
    var json = false

    @OptionGroup var remote: ServerOptions

    func run() async throws {
        let config = try global.loadConfig()
        if let client = try remote.client(config) {
            let (answer, body) = try await daemonGet(client, "/v1/explain?" + query([("user", user)]), as: ExplainAnswer.self, allow: [200, 404])
            guard let answer else { throw fail("no user \"\(user)\" in the snapshot", .checkedFalse) }
            print(json ? String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : VerifyText.explain(answer))
            return
        }
        let store = try global.openStore(config)
        do {
            let service = try VerificationService(config: config, store: store, logger: global.makeLogger())
            let (answer, closeMatches) = try service.explain(user)
            guard let answer else {
                let hint = closeMatches.isEmpty ? "" : "; close matches: \(closeMatches.joined(separator: ", "))"
                if json { print(try SyncJSON.encode(UnknownUser(user: nil, query: user, closeMatches: closeMatches))) }
                throw fail("no user \"\(user)\" in the snapshot (looked up by username, mail, alias and DN)\(hint)", .checkedFalse)
            }
            print(json ? try SyncJSON.encode(answer) : VerifyText.explain(answer))
        } catch let error as VerifyError {
            throw fail(error)
        }
    }

    struct UnknownUser: Encodable {
        var user: String?
        var query: String
        var closeMatches: [String]

        enum CodingKeys: String, CodingKey {
            case user, query
            case closeMatches = "close_matches"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeNil(forKey: .user)
            try container.encode(query, forKey: .query)
            try container.encode(closeMatches, forKey: .closeMatches)
        }
    }
}
