import Foundation
import GroupSync
import SyncConfig

/// When a directory's next run is due: pure arithmetic over its `schedule:`, the last
/// run's time and a random source (for the jitter), so it is tested without a clock.
public struct SchedulePlan: Sendable {
    public let schedule: ScheduleConfig
    public let timeZone: TimeZone

    public init(_ schedule: ScheduleConfig, timeZone: TimeZone = .current) {
        self.schedule = schedule
        self.timeZone = timeZone
    }

    /// The next regular run strictly after `date`; nil when the schedule has only `on_start`.
    /// `every` adds a uniformly random jitter in `0...jitter`.
    public func nextRun(after date: Date, random: inout some RandomNumberGenerator) -> Date? {
        if let every = schedule.every {
            let jitter = schedule.jitter.map { Double.random(in: 0...$0.timeInterval, using: &random) } ?? 0
            return date.addingTimeInterval(every.timeInterval + jitter)
        }
        guard !schedule.at.isEmpty else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var best: Date?
        for time in schedule.at {
            let parts = time.split(separator: ":").compactMap { Int($0) }
            guard parts.count == 2 else { continue }
            let components = DateComponents(hour: parts[0], minute: parts[1], second: 0)
            if let next = calendar.nextDate(after: date, matching: components, matchingPolicy: .nextTime), best.map({ next < $0 }) ?? true {
                best = next
            }
        }
        return best
    }

    /// The delay before retry number `attempt` (1-based) of a failed run: `retry_after`
    /// doubled each time, with up to a quarter more as jitter, never past the next regular run.
    public func retryDelay(attempt: Int, random: inout some RandomNumberGenerator) -> TimeInterval? {
        guard attempt >= 1, attempt <= schedule.retries else { return nil }
        let base = schedule.retryAfter.timeInterval * pow(2, Double(attempt - 1))
        var delay = base + Double.random(in: 0...(base / 4), using: &random)
        if let every = schedule.every { delay = min(delay, every.timeInterval) }
        return delay
    }
}

extension Duration {
    var timeInterval: TimeInterval {
        TimeInterval(components.seconds) + TimeInterval(components.attoseconds) / 1e18
    }
}
