import ArgumentParser
import Foundation
import LDAPClient
import SyncStore

/// This build of groupsync, and the C libraries it runs with (`groupsync --version`).
enum Version {
    static let number = "0.1.0-dev"
    static var text: String { "groupsync \(number) (libldap: \(LDAPLibrary.version); SQLite \(Store.sqliteVersion))" }
}

struct GroupSyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "groupsync",
        abstract: "Sync users and groups from LDAP directories and verify where users landed.",
        discussion: """
            Exit codes: 0 ok · 1 checked and false · 2 usage or configuration error · \
            3 directory or store unreachable, or a run failed · 4 a run stopped at a safety limit.
            """,
        version: Version.text,
        subcommands: [
            SyncCommand.self, VerifyCommand.self, ExplainCommand.self, ReportCommand.self, RunsCommand.self, StatusCommand.self, CheckCommand.self,
            ServeCommand.self, MigrateStoreCommand.self,
        ]
    )
}

/// The entry point: ArgumentParser's usage errors exit with 2, as INTERFACE.md documents,
/// instead of its default 64.
@main
enum Main {
    static func main() async {
        // glibc gives each thread that allocates its own heap arena; memory freed in one is
        // not reused by another, which costs a large sync about 20 MB. Two arenas suffice:
        // the LDAP reader's thread and Swift's.
        _ = glibcMallopt(-8, 2)  // M_ARENA_MAX
        // Blocks of 256 KiB and more (tables of 100,000 users, member sets of large groups)
        // always get pages of their own, given back to the kernel when freed. glibc would
        // otherwise raise this threshold after the first such block is freed and carve later
        // ones out of the heap, where freed space fragments: a large sync's peak varied by
        // 8 MiB with the order of its allocations.
        _ = glibcMallopt(-3, 256 * 1024)  // M_MMAP_THRESHOLD
        do {
            var command = try GroupSyncCommand.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if GroupSyncCommand.exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((GroupSyncCommand.fullMessage(for: error) + "\n").utf8))
                Foundation.exit(ExitStatus.usage.rawValue)
            }
            GroupSyncCommand.exit(withError: error)
        }
    }
}

/// glibc's `mallopt` (malloc.h is not part of the Glibc module Swift imports).
@_silgen_name("mallopt")
func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
