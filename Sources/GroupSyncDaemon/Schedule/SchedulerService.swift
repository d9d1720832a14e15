import Foundation
import GroupSync
import Logging
import ServiceLifecycle
import SyncStore

/// Triggers scheduled runs: per directory at its next due time (`every` with jitter, or
/// fixed `at` times), once at start-up with `on_start`, and again after a failure with
/// doubling back-off up to `retries`. A run stopped by a safety limit is not retried: it
/// stays the directory's last outcome until someone runs `groupsync sync --force`.
/// Schedules are read again after a configuration reload.
public struct SchedulerService: Service {
    let state: DaemonState
    let coordinator: RunCoordinator
    let clock: any WallClock
    let timeZone: TimeZone

    public init(state: DaemonState, coordinator: RunCoordinator, clock: any WallClock = SystemWallClock(), timeZone: TimeZone = .current) {
        self.state = state
        self.coordinator = coordinator
        self.clock = clock
        self.timeZone = timeZone
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.loop()
        }
    }

    /// Per directory: when it is due, and how many retries of a failure it has had.
    struct Due {
        var at: Date?
        var failures = 0
        var trigger: RunRecord.Trigger = .schedule
    }

    /// The scheduling loop, without the graceful-shutdown wrapper (tests run it as a task and cancel it).
    public func loop() async {
        var random = SystemRandomNumberGenerator()
        var due: [String: Due] = [:]
        var generation = -1
        var first = true
        while !Task.isCancelled {
            let config = await state.config
            let currentGeneration = await state.generation
            if currentGeneration != generation {
                generation = currentGeneration
                var fresh: [String: Due] = [:]
                for directory in config.directories {
                    guard let schedule = directory.schedule else { continue }
                    if first && schedule.onStart {
                        fresh[directory.name] = Due(at: clock.now(), trigger: .startup)
                    } else if let kept = due[directory.name], kept.failures > 0 {
                        fresh[directory.name] = kept
                    } else {
                        fresh[directory.name] = Due(at: SchedulePlan(schedule, timeZone: timeZone).nextRun(after: clock.now(), random: &random))
                    }
                }
                due = fresh
                first = false
                for (name, entry) in due { await coordinator.setNextRun(entry.at, directory: name) }
            }
            guard let (name, next) = due.compactMap({ key, value in value.at.map { (key, $0) } }).min(by: { $0.1 < $1.1 }) else {
                // Nothing scheduled: wait for a reload that may schedule something.
                await waitForReload()
                continue
            }
            // Sleep until the earliest due run, or until the configuration is reloaded.
            let woken = await sleepOrReload(until: next)
            if Task.isCancelled { return }
            if woken == .reloaded { continue }
            guard let directory = config.directory(named: name), let schedule = directory.schedule else { due[name] = nil; continue }
            let plan = SchedulePlan(schedule, timeZone: timeZone)
            var entry = due[name] ?? Due()
            let trigger = entry.trigger
            let outcome: RunRecord.Outcome?
            do {
                outcome = try await coordinator.sync(SyncRequest(directories: [name], trigger: trigger)).first?.run.outcome
            } catch .elsewhere {
                // Another daemon owns the directory (shared PostgreSQL store): its schedule runs.
                state.logger.debug("scheduled sync left to the directory's owner", metadata: ["directory": "\(name)"])
                outcome = nil
            } catch {
                state.logger.error("scheduled sync could not run", metadata: ["directory": "\(name)", "error": "\(error)"])
                outcome = .failed
            }
            if Task.isCancelled { return }
            if outcome == .failed, let delay = plan.retryDelay(attempt: entry.failures + 1, random: &random) {
                entry.failures += 1
                entry.at = clock.now().addingTimeInterval(delay)
                entry.trigger = .schedule
                state.logger.warning("scheduled sync failed; retrying", metadata: [
                    "directory": "\(name)", "attempt": "\(entry.failures)", "in": "\(Int(delay))s",
                ])
            } else {
                entry = Due(at: plan.nextRun(after: clock.now(), random: &random))
            }
            due[name] = entry
            await coordinator.setNextRun(entry.at, directory: name)
        }
    }

    enum Wake { case due, reloaded }

    private func sleepOrReload(until deadline: Date) async -> Wake {
        let clock = self.clock
        let state = self.state
        return await withTaskGroup(of: Wake?.self) { group in
            group.addTask {
                do {
                    try await clock.sleep(until: deadline)
                    return .due
                } catch {
                    return nil
                }
            }
            group.addTask {
                await state.waitForReload()
                return .reloaded
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .due
        }
    }

    private func waitForReload() async {
        await state.waitForReload()
    }
}
