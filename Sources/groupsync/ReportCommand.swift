import ArgumentParser
import Foundation
import GroupSync

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "The landing report of every intent (as of the last sync) and the policy lint.",
        discussion: """
            Exit codes: 0 all landed and no lint errors · 1 otherwise · 2 usage or configuration error · \
            3 store unreachable.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print one JSON document on standard output.")
    var json = false

    @OptionGroup var remote: ServerOptions

    func run() async throws {
        let config = try global.loadConfig()
        if let client = try remote.client(config) {
            let (report, body) = try await daemonGet(client, "/v1/report", as: ReportAnswer.self)
            guard let report else { throw fail("the daemon's answer is not a report", .unavailable) }
            print(json ? String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : VerifyText.report(report))
            if !report.isClean { throw ExitStatus.checkedFalse.exitCode }
            return
        }
        let store = try global.openStore(config)
        do {
            let report = try VerificationService(config: config, store: store, logger: global.makeLogger()).report()
            print(json ? try SyncJSON.encode(report) : VerifyText.report(report))
            if !report.isClean { throw ExitStatus.checkedFalse.exitCode }
        } catch let error as VerifyError {
            throw fail(error)
        }
    }
}
