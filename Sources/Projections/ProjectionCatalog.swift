import EventLog
import Foundation
import OrderManager
import PositionManager

/// Every table projection by name: its spec (columns, merge rules, pure row function) and
/// how to make the projection that runs it against PostgreSQL.
public enum ProjectionCatalog {
    /// The specs, in a stable order.
    public static let specs: [ProjectionSpec] = [
        CategoryStatsProjection.spec, OrdersProjection.spec, SignalOrderRelationshipsProjection.spec,
        PositionsProjection.spec, PositionSnapshotsProjection.spec,
    ]

    /// The projection names (`category_stats`, `orders`, ...).
    public static var names: [String] { specs.map(\.name) }

    /// The spec of one projection, nil for an unknown name.
    public static func spec(_ name: String) -> ProjectionSpec? { specs.first { $0.name == name } }

    /// The PostgreSQL projection of a name, reading its SQL from `directory`.
    public static func projection(_ name: String, directory: URL = ResourceDirectory.projections) throws -> any TableProjection {
        switch name {
        case CategoryStatsProjection.spec.name: try CategoryStatsProjection(projectionsDirectory: directory)
        case OrdersProjection.spec.name: try OrdersProjection(projectionsDirectory: directory)
        case SignalOrderRelationshipsProjection.spec.name: try SignalOrderRelationshipsProjection(projectionsDirectory: directory)
        case PositionsProjection.spec.name: try PositionsProjection(projectionsDirectory: directory)
        case PositionSnapshotsProjection.spec.name: try PositionSnapshotsProjection(projectionsDirectory: directory)
        default: throw UnknownProjection(name: name)
        }
    }
}

public struct UnknownProjection: Error, CustomStringConvertible {
    public var name: String
    public init(name: String) { self.name = name }
    public var description: String {
        "unknown projection \"\(name)\" (known: \(ProjectionCatalog.names.joined(separator: ", ")))"
    }
}
