using System.Text.Json;
using System.Text.Json.Serialization;
using Serverless.Functions.Accounts;
using Serverless.Functions.Health;
using Serverless.Functions.Items;
using Serverless.Functions.Mail;
using Serverless.Functions.Passwords;
using Serverless.Functions.Sessions;

namespace Serverless.Functions.Http;

/// <summary>
/// Every type the API reads or writes, serialized by generated code with one set of options:
/// camelCase names, no duplicate properties, shallow nesting, unknown properties ignored, nulls written.
/// </summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    AllowDuplicateProperties = false,
    MaxDepth = 16,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(ProblemBody))]
[JsonSerializable(typeof(HealthReport))]
[JsonSerializable(typeof(SignupRequest))]
[JsonSerializable(typeof(LoginRequest))]
[JsonSerializable(typeof(RefreshRequest))]
[JsonSerializable(typeof(Session))]
[JsonSerializable(typeof(UserView))]
[JsonSerializable(typeof(ProfileView))]
[JsonSerializable(typeof(ItemRequest))]
[JsonSerializable(typeof(ItemView))]
[JsonSerializable(typeof(ItemPage))]
[JsonSerializable(typeof(VerifyEmailRequest))]
[JsonSerializable(typeof(PasswordResetRequest))]
[JsonSerializable(typeof(PasswordResetConfirmRequest))]
[JsonSerializable(typeof(MailAccepted))]
[JsonSerializable(typeof(SessionList))]
[JsonSerializable(typeof(PasswordChangeRequest))]
[JsonSerializable(typeof(Serverless.Functions.Deletion.DeleteAccountRequest))]
[JsonSerializable(typeof(Serverless.Functions.Deletion.PurgeMessage))]
[JsonSerializable(typeof(Serverless.Functions.Passkeys.PasskeySignupOptionsRequest))]
[JsonSerializable(typeof(Serverless.Functions.Passkeys.PasskeyCredentialRequest))]
[JsonSerializable(typeof(Serverless.Functions.Passkeys.PasskeyRegistrationRequest))]
[JsonSerializable(typeof(Serverless.Functions.Passkeys.PasskeyRenameRequest))]
[JsonSerializable(typeof(Serverless.Functions.Passkeys.PasskeyView))]
[JsonSerializable(typeof(Serverless.Functions.Passkeys.PasskeyList))]
[JsonSerializable(typeof(Serverless.Functions.Mfa.MfaChallenge))]
[JsonSerializable(typeof(Serverless.Functions.Mfa.MfaProofRequest))]
[JsonSerializable(typeof(Serverless.Functions.Mfa.TotpConfirmRequest))]
[JsonSerializable(typeof(Serverless.Functions.Mfa.MfaLoginRequest))]
[JsonSerializable(typeof(Serverless.Functions.Mfa.TotpEnrolment))]
[JsonSerializable(typeof(Serverless.Functions.Mfa.RecoveryCodeList))]
public sealed partial class ApiJson : JsonSerializerContext;
