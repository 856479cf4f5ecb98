import ArgumentParser
import EventLog
import Foundation
import PostgresClient
import Projections

struct Rebuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild a projection blue/green: build its next version beside the live one from the log while appends continue, check it against an in-memory fold, switch atomically.",
        discussion: """
            The new version is made from the newest projections/NAME/vK.sql (the same file as the live
            version's when there is no newer one: that rebuilds the same schema). Interrupted, the live
            version keeps serving; run the command again to resume (or --restart). Progress goes to stderr.
            Projections: \(ProjectionCatalog.names.joined(separator: ", ")).
            """)

    @Argument(help: "The projection to rebuild (or `all`).")
    var name: String

    @Flag(help: "Drop the previous version's table after the switch.")
    var dropOld = false

    @Flag(help: "Start an unfinished building version over instead of resuming it.")
    var restart = false

    @Option(help: "Events per building transaction.")
    var batchSize = 5000

    @OptionGroup var db: DatabaseOptions

    func run() async throws {
        db.bootstrapLogging()
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        let names = name == "all" ? ProjectionCatalog.names : [name]
        for n in names where ProjectionCatalog.spec(n) == nil { throw ValidationError(UnknownProjection(name: n).description) }
        var options = RebuildOptions()
        options.dropOld = dropOld
        options.restart = restart
        options.batchSize = batchSize
        options.switchLag = Int64(batchSize)
        let rebuilder = ProjectionRebuilder(settings: db.settings("tradelog:rebuild"))
        for n in names {
            let r = try await rebuilder.rebuild(n, options: options)
            print("\(r.name): v\(r.version) live at position \(r.checkpoint), \(r.rows) rows"
                  + (r.previousVersion.map { ", replaced v\($0)\(dropOld ? " (dropped)" : "")" } ?? "")
                  + ", checked \(r.verified) at \(r.verifiedAt), \(fmt(r.seconds)) s")
        }
    }
}

struct ProjectionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projections",
        abstract: "List each projection's versions (live, building, retired), live version, checkpoint, the log's head and the lag.")

    @OptionGroup var db: DatabaseOptions

    func run() async throws {
        db.bootstrapLogging()
        let settings = db.settings("tradelog:projections")
        let conn = PGConnection(settings: settings)
        let text = try await conn.withConnection { conn -> String in
            guard try conn.scalar("SELECT to_regclass('log_head') IS NOT NULL") == "t" else {
                return "database \(settings.redactedURL) has no event log yet: run `tradelog migrate`"
            }
            return ProjectionStatus.render(try ProjectionStatus.list(on: conn))
        }
        await conn.close()
        print(text)
    }
}
