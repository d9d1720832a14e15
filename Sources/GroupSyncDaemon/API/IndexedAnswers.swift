import GroupSync
import Synchronization

/// The verification service backed by the daemon's in-memory index, readable from any
/// thread without waiting for an actor: the HTTP event loops answer `GET /v1/verify`
/// from it on the thread that read the request (``FastVerifyHandler``). Empty while
/// answers come from the store (before the first index, and right after a run changed
/// the snapshot); requests then take the router's path.
public final class IndexedAnswers: Sendable {
    private let current = Mutex<VerificationService?>(nil)

    public init() {}

    /// Keeps `service` when it answers from an index; a store-backed one empties the slot.
    func set(_ service: VerificationService?) {
        let indexed = service.flatMap { $0.usesIndex ? $0 : nil }
        current.withLock { $0 = indexed }
    }

    /// The index-backed service in force, if any.
    public var service: VerificationService? { current.withLock { $0 } }
}
