import ArgumentParser
import Foundation
import GroupSync

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate the configuration and test each directory connection step by step.",
        discussion: """
            Per directory: the bind secret, name resolution, TCP, TLS (protocol, cipher, the \
            server's certificate and whether it names the host), the bind (Active Directory's \
            data codes explained), the root DSE (flavour, paging, the change feed incremental \
            runs use), the search bases and what the searches return; then the store. \
            Exit codes: 0 every step passed (warnings allowed) · 1 a step failed · 2 usage or configuration error.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("directory"), help: "Check only this directory (repeatable).")
    var directories: [String] = []

    @Flag(help: "Print one JSON document on standard output.")
    var json = false

    func run() async throws {
        let config = try global.loadConfig()
        for name in directories where config.directory(named: name) == nil {
            throw fail("no directory named \"\(name)\" in the configuration; known: \(config.directories.map(\.name).joined(separator: ", "))", .usage)
        }
        let answer = await ConnectionChecker(config: config, logger: global.makeLogger()).run(directories: directories)
        print(json ? try SyncJSON.encode(answer) : answer.text)
        if !answer.passed { throw ExitStatus.checkedFalse.exitCode }
    }
}
