namespace Serverless.Functions.Tests.Infrastructure;

/// <summary>
/// Evaluates the few ARM template functions an app setting computed from parameters uses (<c>if</c>, <c>empty</c>,
/// <c>equals</c>, <c>not</c>, <c>parameters</c>, string literals), so a test can check what a setting becomes for given
/// parameter values instead of matching the expression's text. Anything else fails loudly.
/// </summary>
public static class ArmExpression
{
    public static object Evaluate(string? value, IReadOnlyDictionary<string, string> parameters)
    {
        if (value is null || !value.StartsWith('[') || value.StartsWith("[[", StringComparison.Ordinal))
        {
            return value ?? "";
        }

        var reader = new Reader(value[1..^1], parameters);
        var result = reader.Expression();
        reader.End();
        return result;
    }

    private sealed class Reader(string text, IReadOnlyDictionary<string, string> parameters)
    {
        private int position;

        public object Expression()
        {
            Skip();
            if (text[position] == '\'')
            {
                var end = text.IndexOf('\'', position + 1);
                var literal = text[(position + 1)..end];
                position = end + 1;
                return literal;
            }

            var open = text.IndexOf('(', position);
            var name = text[position..open].Trim();
            position = open + 1;
            var arguments = new List<object>();
            for (Skip(); text[position] != ')'; Skip())
            {
                arguments.Add(Expression());
                Skip();
                if (text[position] == ',')
                {
                    position++;
                }
            }

            position++;
            return (name, arguments.Count) switch
            {
                ("parameters", 1) => parameters[(string)arguments[0]],
                ("empty", 1) => arguments[0] is string s && s.Length == 0,
                ("equals", 2) => Equals(arguments[0], arguments[1]),
                ("not", 1) => !(bool)arguments[0],
                ("if", 3) => (bool)arguments[0] ? arguments[1] : arguments[2],
                _ => throw new NotSupportedException($"ARM function {name} with {arguments.Count} arguments in: {text}"),
            };
        }

        public void End()
        {
            Skip();
            if (position != text.Length)
            {
                throw new NotSupportedException($"Unread text at {position} in: {text}");
            }
        }

        private void Skip()
        {
            while (position < text.Length && text[position] == ' ')
            {
                position++;
            }
        }
    }
}
