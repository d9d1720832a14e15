import Foundation
import PostgresStore
import SyncConfig
import SyncStore

/// A store `migrate-store` reads or writes: an SQLite file or a PostgreSQL database.
public enum StoreLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresSettings)

    /// `postgres://…` or `postgresql://…` is a PostgreSQL database (the password from
    /// `passwordFile`); anything else is an SQLite file path.
    public init(_ text: String, passwordFile: String?, tls: PostgresSettings.TLS) throws(StoreCopyError) {
        let lower = text.lowercased()
        if lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://") {
            do {
                self = .postgres(try PostgresSettings(url: text, passwordFile: passwordFile, tls: tls))
            } catch {
                // Not the text itself: a mistyped URL may hold a password.
                throw StoreCopyError("the PostgreSQL URL: \(error)")
            }
        } else {
            guard !text.isEmpty else { throw StoreCopyError("an empty store path") }
            self = .sqlite(path: text)
        }
    }

    public var description: String {
        switch self {
        case .sqlite(let path): return path
        case .postgres(let settings): return "postgres://" + settings.label
        }
    }
}

public struct StoreCopyError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What a copy did: the rows of each table, checked on both ends.
public struct StoreCopyReport: Sendable {
    public var from: String
    public var to: String
    public var tables: [(name: String, rows: Int)]
    public var seconds: Double
    public var replaced: Bool
}

/// Copies a whole store — snapshots, runs and their changes, landings, configuration
/// versions, sync state — from one backend to the other (`groupsync migrate-store`).
///
/// The source is read in one consistent snapshot; the target is written in one
/// transaction, and its row counts are checked against the source's before it commits: a
/// failed or interrupted copy leaves the target as it was. A target that already holds
/// rows is refused unless `replace` is set. SQLite ends are held under the store lock, so
/// no sync writes to them meanwhile.
public enum StoreCopier {
    public static func copy(
        from source: StoreLocation, to target: StoreLocation, replace: Bool = false,
        progress: (@Sendable (String, Int) -> Void)? = nil
    ) throws(StoreCopyError) -> StoreCopyReport {
        guard source != target else { throw StoreCopyError("the source and the target are the same store (\(source))") }
        if case .sqlite = source, case .sqlite = target {
            throw StoreCopyError("both ends are SQLite files; one end must be PostgreSQL (copy the file with sqlite3 .backup instead)")
        }
        let started = ContinuousClock.now
        let (reading, readLock) = try open(source, asSource: true)
        let (writing, writeLock) = try open(target, asSource: false)
        defer { withExtendedLifetime((readLock, writeLock)) {} }
        let tables = CopyTables.all
        var copied: [(name: String, rows: Int)] = []
        do {
            try reading.read { reader in
                let counts = try tables.map { try reader.count($0) }
                try writing.write { writer in
                    let present = try tables.map { try writer.count($0) }
                    let held = zip(tables, present).filter { $0.1 > 0 }
                    if !held.isEmpty {
                        guard replace else {
                            let list = held.map { "\($0.0.name): \($0.1)" }.joined(separator: ", ")
                            throw StoreCopyError("the target \(target) is not empty (\(list) rows); pass --replace to overwrite it")
                        }
                        try writer.deleteAll(tables.reversed())
                    }
                    for (table, count) in zip(tables, counts) {
                        var done = 0
                        try reader.rows(table, batch: 20_000) { rows in
                            try writer.insert(table, rows: rows)
                            done += rows.count
                            progress?(table.name, done)
                        }
                        guard done == count else {
                            throw StoreCopyError("\(table.name): counted \(count) rows in \(source) but read \(done)")
                        }
                    }
                    try writer.finish(tables)
                    for (table, count) in zip(tables, counts) {
                        let written = try writer.count(table)
                        guard written == count else {
                            throw StoreCopyError("\(table.name): \(count) rows in \(source), \(written) in \(target) after the copy; nothing was written")
                        }
                        copied.append((table.name, written))
                    }
                }
            }
        } catch let error as StoreCopyError {
            throw error
        } catch {
            throw StoreCopyError("copying \(source) to \(target) failed, nothing was written: \(error)")
        }
        let elapsed = ContinuousClock.now - started
        return StoreCopyReport(
            from: source.description, to: target.description, tables: copied,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, replaced: replace)
    }

    private static func open(_ location: StoreLocation, asSource: Bool) throws(StoreCopyError) -> (any CopyEnd, StoreLock?) {
        switch location {
        case .sqlite(let path):
            if asSource {
                guard FileManager.default.fileExists(atPath: path) else {
                    throw StoreCopyError("the source store \(path) does not exist")
                }
            }
            let lock: StoreLock
            do {
                lock = try StoreLock(storePath: path)
            } catch {
                throw StoreCopyError("\(path): \(error); stop groupsync serve and wait for running syncs before migrating the store")
            }
            do {
                return (SQLiteCopyEnd(store: try Store(path: path)), lock)
            } catch {
                throw StoreCopyError("\(error)")
            }
        case .postgres(let settings):
            do {
                let session = try PostgresSession.connect(settings)
                if asSource {
                    guard try PostgresSchema.appliedMigrations(session).contains(PostgresSchema.latest) else {
                        throw StoreCopyError("postgres://\(settings.label) holds no groupsync store (its schema_migration table lacks \"\(PostgresSchema.latest)\")")
                    }
                } else {
                    try PostgresSchema.migrate(session)
                }
                return (PostgresCopyEnd(session: session), nil)
            } catch let error as StoreCopyError {
                throw error
            } catch {
                throw StoreCopyError("\(error)")
            }
        }
    }
}
