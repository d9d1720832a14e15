/// How long a run took, for people: milliseconds under a second (an incremental run takes
/// tens of them, which "0.0 s" hid), tenths of a second under a minute, then minutes and
/// seconds.
public enum DurationText {
    /// `45 ms`, `1.2 s`, `2 min 05 s`; `compact` drops the spaces (`45ms`, `1.2s`, `2m05s`)
    /// for table columns.
    public static func of(seconds: Double, compact: Bool = false) -> String {
        let space = compact ? "" : " "
        let seconds = max(0, seconds)
        if seconds < 0.9995 { return "\(Int((seconds * 1000).rounded()))\(space)ms" }
        if seconds < 59.95 { return String(format: "%.1f", seconds) + "\(space)s" }
        let whole = Int(seconds.rounded())
        let minutes = String(format: "%02d", whole % 60)
        return compact ? "\(whole / 60)m\(minutes)s" : "\(whole / 60) min \(minutes) s"
    }
}
