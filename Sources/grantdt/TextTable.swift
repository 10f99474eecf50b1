/// Left-aligned columns, two spaces apart; the last column is not padded.
enum TextTable {
    static func render(_ rows: [[String]]) -> String {
        guard let columns = rows.first?.count else { return "" }
        let widths = (0..<columns).map { column in rows.map { $0[column].count }.max() ?? 0 }
        var text = ""
        for row in rows {
            for (column, cell) in row.enumerated() {
                text += cell
                if column < columns - 1 { text += String(repeating: " ", count: widths[column] - cell.count + 2) }
            }
            text += "\n"
        }
        return text
    }
}
