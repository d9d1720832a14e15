import FuzzSupport
import SyncConfig

/// The configuration loader: any text gets a configuration or a ConfigError that says
/// something, never a crash, a hang or unbounded memory.
FuzzTarget.run { bytes in
    guard let text = String(validating: bytes, as: UTF8.self) else { return }
    do {
        _ = try ConfigLoader.parse(text, file: "/nonexistent/fuzz/groupsync.yaml")
    } catch let error as ConfigError {
        precondition(!error.message.isEmpty, "an error without a message")
    } catch {
        fatalError("the loader threw something other than a ConfigError: \(error)")
    }
}
