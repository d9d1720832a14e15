import GroupSync
import Testing

@Suite("Run durations for people")
struct DurationTextTests {
    @Test("milliseconds under a second, tenths under a minute, then minutes and seconds", arguments: [
        (0.0, "0 ms", "0ms"), (0.0449, "45 ms", "45ms"), (0.9994, "999 ms", "999ms"), (0.9996, "1.0 s", "1.0s"),
        (4.44, "4.4 s", "4.4s"), (59.94, "59.9 s", "59.9s"), (59.96, "1 min 00 s", "1m00s"), (125.4, "2 min 05 s", "2m05s"),
        (-0.2, "0 ms", "0ms"),
    ])
    func text(seconds: Double, spaced: String, compact: String) {
        #expect(DurationText.of(seconds: seconds) == spaced)
        #expect(DurationText.of(seconds: seconds, compact: true) == compact)
    }
}
