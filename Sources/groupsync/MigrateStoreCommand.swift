import ArgumentParser
import Foundation
import PostgresStore
import StoreCopy
import SyncConfig

struct MigrateStoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-store",
        abstract: "Copy the whole store between SQLite and PostgreSQL, with the row counts checked.",
        discussion: """
            Copies snapshots, runs with their changes, landing results, configuration versions and sync state. \
            The source is read in one consistent snapshot; the target is written in one transaction and its row \
            counts checked against the source's before it commits, so a failed copy leaves it as it was. A target \
            that holds rows is refused unless --replace. SQLite ends are taken under the store lock: stop \
            groupsync serve first. The PostgreSQL password comes from --password-file, never the URL. \
            Exit codes: 0 copied · 2 usage error · 3 a store unreachable or the copy failed.
            """
    )

    @Option(name: .long, help: "The store to copy: an SQLite file or postgres://USER@HOST:PORT/DATABASE (default: the configuration's store).")
    var from: String?

    @Option(name: .long, help: "Where to copy it: postgres://USER@HOST:PORT/DATABASE or an SQLite file.")
    var to: String

    @Option(name: .long, help: "The file holding the PostgreSQL password (readable by its owner only).")
    var passwordFile: String?

    @Option(name: .long, help: "TLS to PostgreSQL: verify-full (default), require, or disable.")
    var tls: String = PostgresSettings.TLSMode.verifyFull.rawValue

    @Option(name: .long, help: "The CA certificate file that signed PostgreSQL's certificate (with --tls verify-full).")
    var caFile: String?

    @Flag(name: .long, help: "Overwrite a target that already holds a store.")
    var replace = false

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    @Option(name: .long, help: "The configuration file (for --from's default).")
    var config: String?

    func run() throws {
        guard let mode = PostgresSettings.TLSMode(rawValue: tls) else {
            throw fail("--tls \(tls): expected one of \(PostgresSettings.TLSMode.allCases.map(\.rawValue).joined(separator: ", "))", .usage)
        }
        let tlsSettings = PostgresSettings.TLS(mode: mode, caFile: caFile)
        let source: StoreLocation
        let target: StoreLocation
        do {
            if let from {
                source = try StoreLocation(from, passwordFile: passwordFile, tls: tlsSettings)
            } else {
                var global = GlobalOptions()
                global.config = config
                let store = try global.loadConfig().store
                source = store.postgres.map(StoreLocation.postgres) ?? .sqlite(path: store.path)
            }
            target = try StoreLocation(to, passwordFile: passwordFile, tls: tlsSettings)
        } catch let error as StoreCopyError {
            throw fail("\(error)", .usage)
        }
        let showProgress = !json && isatty(STDERR_FILENO) == 1
        let progress: (@Sendable (String, Int) -> Void)? = showProgress ? Self.showProgress : nil
        let report: StoreCopyReport
        do {
            report = try StoreCopier.copy(from: source, to: target, replace: replace, progress: progress)
        } catch {
            if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            throw fail("migrate-store: \(error)", .unavailable)
        }
        if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        if json {
            let object: [String: Any] = [
                "from": report.from, "to": report.to, "replaced": report.replaced, "seconds": (report.seconds * 1000).rounded() / 1000,
                "tables": Dictionary(uniqueKeysWithValues: report.tables.map { ($0.name, $0.rows) }),
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("copied \(report.from) → \(report.to) in \(String(format: "%.1f", report.seconds)) s\(report.replaced ? " (target replaced)" : "")")
        let width = report.tables.map(\.name.count).max() ?? 0
        for table in report.tables {
            print("  \(table.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(table.rows) rows (checked)")
        }
    }

    /// The progress line on a terminal: the table being copied and its rows so far.
    @Sendable static func showProgress(_ table: String, _ rows: Int) {
        FileHandle.standardError.write(Data("\r\u{1B}[K  \(table): \(rows) rows".utf8))
    }
}
