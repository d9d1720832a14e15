import ArgumentParser

@main
struct GroupSyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "groupsync",
        abstract: "Sync users and groups from LDAP directories and verify where users landed.",
        version: "0.1.0-dev",
        subcommands: []
    )
}
