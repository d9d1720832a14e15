import Foundation
import GroupSync
import Logging
import ServiceLifecycle
import SyncConfig
import SyncStore

/// Watch mode (`schedule: watch: true`): per directory, a content synchronization search
/// kept open (``ChangeWatcher``). Changes the server announces are gathered for the batch
/// window, then one incremental run applies them through the coordinator — the same run,
/// limits, landing report and metrics as any other. Each (re)connection starts with a
/// catch-up run; a lost connection is retried with doubling back-off (1 s to 1 min),
/// resuming from the stored position, so nothing that changed meanwhile is lost. The
/// periodic full run (`incremental.full_every`) and any `every`/`at` schedule still apply.
public struct WatchService: Service {
    let state: DaemonState
    let coordinator: RunCoordinator

    public init(state: DaemonState, coordinator: RunCoordinator) {
        self.state = state
        self.coordinator = coordinator
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.loop()
        }
    }

    /// Watches every directory that asks for it; starts again after a configuration reload.
    func loop() async {
        while !Task.isCancelled {
            let config = await state.config
            let watched = config.directories.filter { $0.schedule?.watch == true }
            await withTaskGroup(of: Void.self) { group in
                for directory in watched {
                    group.addTask { await self.watch(directory, store: state.store) }
                }
                group.addTask {
                    await state.waitForReload()
                }
                // The first to end is the reload (watches run until cancelled): restart all.
                _ = await group.next()
                group.cancelAll()
            }
        }
    }

    private func watch(_ directory: DirectoryConfig, store: any SnapshotStore) async {
        let logger = state.logger
        let batcher = Batcher(directory: directory.name, window: directory.schedule?.batchWindow ?? .seconds(2), coordinator: coordinator, logger: logger)
        let watcher = ChangeWatcher(directory: directory, store: store, logger: logger)
        var backoff: Duration = .seconds(1)
        while !Task.isCancelled {
            do {
                try await watcher.watch(connected: {
                    logger.info("watching for changes", metadata: ["directory": "\(directory.name)"])
                    // Catch up on whatever changed while no one listened.
                    await batcher.runNow()
                }, changed: {
                    await batcher.notify()
                })
                backoff = .seconds(1)
            } catch is CancellationError {
                return
            } catch ChangeWatcher.WatchError.noPosition {
                logger.info("watch mode waits for a full run to take a feed position", metadata: ["directory": "\(directory.name)"])
                await batcher.runNow()
            } catch ChangeWatcher.WatchError.unsupported(let reason) {
                logger.error("watch mode is off for this directory: \(reason)", metadata: ["directory": "\(directory.name)"])
                await state.waitForReload()
                return
            } catch {
                if Task.isCancelled { return }
                logger.warning("the watch connection failed; reconnecting", metadata: [
                    "directory": "\(directory.name)", "error": "\(error)", "in": "\(backoff)",
                ])
            }
            do {
                try await Task.sleep(for: backoff)
            } catch {
                return
            }
            backoff = min(backoff * 2, .seconds(60))
        }
    }
}

/// Gathers change notifications for a window, then runs; notifications that come while a
/// run is in progress make another run after it, so none is missed. A window counts from
/// the first notification it gathers, so a change that arrives during a run waits for the
/// rest of its window, not for the run and then a whole window.
actor Batcher {
    let directory: String
    let window: Duration
    let coordinator: RunCoordinator
    let logger: Logger
    private var dirty = false
    private var firstNotified: ContinuousClock.Instant?
    private var running = false

    init(directory: String, window: Duration, coordinator: RunCoordinator, logger: Logger) {
        self.directory = directory
        self.window = window
        self.coordinator = coordinator
        self.logger = logger
    }

    func notify() {
        dirty = true
        if firstNotified == nil { firstNotified = .now }
        guard !running else { return }
        running = true
        Task { await drain() }
    }

    /// Runs at once (and waits for the run), as on (re)connecting.
    func runNow() async {
        await run()
    }

    private func drain() async {
        while dirty && !Task.isCancelled {
            let due = (firstNotified ?? .now) + window
            if due > .now { try? await Task.sleep(until: due, clock: .continuous) }
            dirty = false
            firstNotified = nil
            await run()
        }
        running = false
    }

    private func run() async {
        do {
            let reports = try await coordinator.sync(SyncRequest(directories: [directory], trigger: .watch))
            if let run = reports.first?.run {
                logger.info("watch run", metadata: ["directory": "\(directory)", "run": "\(run.id ?? 0)", "outcome": "\(run.outcome.rawValue)", "mode": "\(run.mode.rawValue)"])
            }
        } catch .elsewhere {
            // Another daemon owns the directory (shared PostgreSQL store) and runs its batches.
            logger.debug("watch batch left to the directory's owner", metadata: ["directory": "\(directory)"])
        } catch {
            logger.error("watch run could not start", metadata: ["directory": "\(directory)", "error": "\(error)"])
        }
    }
}
