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

    func run() async throws {
        let config = try global.loadConfig()
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
