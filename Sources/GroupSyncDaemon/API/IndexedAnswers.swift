import GroupSync
import Synchronization

/// The verification service backed by the daemon's in-memory index, readable from any
/// thread without waiting for an actor: the HTTP event loops answer `GET /v1/verify`
/// from it on the thread that read the request (``FastVerifyHandler``). Empty while
/// answers come from the store (before the first index, and right after a run changed
/// the snapshot); requests then take the router's path.
public final class IndexedAnswers: Sendable {
    /// The service in a box: handing it out costs one reference, not a copy of every field.
    final class Box: Sendable {
        let service: VerificationService
        init(_ service: VerificationService) { self.service = service }
    }

    private let current = Mutex<Box?>(nil)

    public init() {}

    /// Keeps `service` when it answers from an index; a store-backed one empties the slot.
    func set(_ service: VerificationService?) {
        let indexed = service.flatMap { $0.usesIndex ? Box($0) : nil }
        current.withLock { $0 = indexed }
    }

    /// The index-backed service in force, if any.
    var box: Box? { current.withLock { $0 } }

    public var service: VerificationService? { box?.service }
}
