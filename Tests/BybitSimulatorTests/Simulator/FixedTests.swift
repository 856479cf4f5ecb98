import Testing
@testable import BybitSimulator

@Suite("Fixed decimals")
struct FixedTests {
    @Test func parsesAndFormats() {
        #expect(Fixed("28550.70")!.description == "28550.7")
        #expect(Fixed("28550.70")!.formatted(places: 2) == "28550.70")
        #expect(Fixed("-0.00055")!.description == "-0.00055")
        #expect(Fixed("42")!.formatted(places: 3) == "42.000")
        #expect(Fixed("0.000000001") == nil)  // more than 8 decimals
        #expect(Fixed("0.100000000")!.description == "0.1")  // trailing zeros beyond 8 are fine
        #expect(Fixed("1e5") == nil)
        #expect(Fixed("") == nil)
        #expect(Fixed(".5")!.description == "0.5")
    }

    @Test func arithmeticIsExact() {
        #expect((Fixed("41.5539")! * Fixed("0.00055")!).description == "0.02285465")  // rounded half up at 8 decimals
        #expect(Fixed("1")!.divided(by: Fixed("3")!).description == "0.33333333")
        #expect(Fixed("65005")!.isMultiple(of: Fixed("0.1")!))
        #expect(!Fixed("65005.05")!.isMultiple(of: Fixed("0.1")!))
        #expect(Fixed("1.26")!.floored(to: Fixed("0.1")!).description == "1.2")
        #expect(Fixed("-1.26")!.floored(to: Fixed("0.1")!).description == "-1.3")
        #expect(Fixed("1.21")!.ceiled(to: Fixed("0.1")!).description == "1.3")
        #expect(Fixed("0.10")!.decimalPlaces == 1)
        #expect(Fixed("0.001")!.decimalPlaces == 3)
    }
}
