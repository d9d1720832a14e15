import ArgumentParser
import Foundation
import GroupSync
import SyncStore
import Verification

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Did a user land where intended? With the path, the snapshot time, and the reason when not.",
        discussion: """
            USER is a username, mail address, alias or DN. --file takes a CSV file with a header line: \
            a user column and one or more of group, policy, profile_group (quote DNs). \
            Exit codes: 0 all landed · 1 at least one did not · 2 usage or configuration error · \
            3 store or directory unreachable, or never synced.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The user: username, mail, alias or DN.")
    var user: String?

    @Option(help: "A directory group, by DN or name (repeatable).")
    var group: [String] = []

    @Option(help: "A policy from the configuration (repeatable).")
    var policy: [String] = []

    @Option(name: .customLong("profile-group"), help: "A profile group from the configuration (repeatable).")
    var profileGroup: [String] = []

    @Option(help: "A CSV file of rows to verify (user,group or user,policy …).")
    var file: String?

    @Flag(help: "Also ask the directory now, to tell \"not synced yet\" from \"not in the directory\".")
    var live = false

    @Flag(help: "Print one JSON document on standard output.")
    var json = false

    @OptionGroup var remote: ServerOptions

    func validate() throws {
        if file != nil {
            guard user == nil, group.isEmpty, policy.isEmpty, profileGroup.isEmpty else {
                throw ValidationError("--file takes its users and targets from the file; give no USER, --group, --policy or --profile-group with it")
            }
        } else {
            guard user != nil else { throw ValidationError("name a USER (or give --file FILE.csv)") }
            guard !(group.isEmpty && policy.isEmpty && profileGroup.isEmpty) else {
                throw ValidationError("name at least one target: --group, --policy or --profile-group")
            }
        }
    }

    var targets: [Target] { group.map(Target.group) + policy.map(Target.policy) + profileGroup.map(Target.profileGroup) }

    func run() async throws {
        let config = try global.loadConfig()
        if let client = try remote.client(config) {
            guard file == nil else { throw fail("--file reads the store; it does not go through --server", .usage) }
            var pairs = [("user", user!)] + group.map { ("group", $0) } + policy.map { ("policy", $0) }
            pairs += profileGroup.map { ("profile_group", $0) }
            if live { pairs.append(("live", "true")) }
            let (answer, body) = try await daemonGet(client, "/v1/verify?" + query(pairs), as: VerifyAnswer.self)
            guard let answer else { throw fail("the daemon's answer is not a verify answer", .unavailable) }
            print(json ? String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : VerifyText.verify(answer))
            if !answer.allLanded { throw ExitStatus.checkedFalse.exitCode }
            return
        }
        let store = try global.openStore(config)
        do {
            let service = try VerificationService(config: config, store: store, logger: global.makeLogger())
            if let file {
                let batch = try VerifyBatch(path: file)
                var answers: [(line: Int, answer: VerifyAnswer)] = []
                for row in batch.rows {
                    answers.append((row.line, try await service.verify(row.user, targets: row.targets, live: live)))
                }
                if json {
                    print(try SyncJSON.encode(BatchJSON(rows: answers.map { BatchJSON.Row(line: $0.line, answer: $0.answer) })))
                } else {
                    print(VerifyText.batch(answers))
                }
                if !answers.allSatisfy({ $0.answer.allLanded }) { throw ExitStatus.checkedFalse.exitCode }
                return
            }
            let answer = try await service.verify(user!, targets: targets, live: live)
            print(json ? try SyncJSON.encode(answer) : VerifyText.verify(answer))
            if !answer.allLanded { throw ExitStatus.checkedFalse.exitCode }
        } catch let error as VerifyError {
            throw fail(error)
        }
    }

    struct BatchJSON: Encodable {
        struct Row: Encodable {
            var line: Int
            var answer: VerifyAnswer

            func encode(to encoder: any Encoder) throws {
                try answer.encode(to: encoder)
                var container = encoder.container(keyedBy: Key.self)
                try container.encode(line, forKey: .line)
            }

            enum Key: String, CodingKey { case line }
        }

        var rows: [Row]
    }
}

/// Maps a verification error to its exit status (INTERFACE.md).
func fail(_ error: VerifyError) -> ExitCode {
    switch error {
    case .usage, .ambiguous: fail(error.description, .usage)
    case .noSnapshot, .store, .directory: fail(error.description, .unavailable)
    }
}
