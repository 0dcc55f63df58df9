// RBAC-mode vault holding the JWT signing key; nothing here ever leaves as an output but its URI.
param name string
param location string
param tags object
param signingKeySecretName string

@secure()
@description('UTF-8 text of at least 32 bytes; the app reads it as Auth:SigningKey.')
param signingKey string

@description('An earlier version of the same secret, accepted during a rotation; empty for none.')
param previousSigningKeyVersion string = ''
param identifierHashKeySecretName string

@secure()
@description('UTF-8 text of at least 32 bytes; the app reads it as Auth:IdentifierHashKey.')
param identifierHashKey string
param totpSecretKeySecretName string

@secure()
@description('UTF-8 text of at least 32 bytes; the app reads it as Auth:TotpSecretKey (it encrypts the two-step sign-in secrets).')
param totpSecretKey string

@description('An earlier version of the TOTP key secret, still decrypting during a rotation; empty for none.')
param previousTotpKeyVersion string = ''

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    // The shortest retention: after `azd down` the name stays reserved this long (see infra/README.md).
    softDeleteRetentionInDays: 7
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }

  resource signingKeySecret 'secrets' = {
    name: signingKeySecretName
    properties: {
      value: signingKey
      contentType: 'text/plain'
    }
  }

  resource identifierHashKeySecret 'secrets' = {
    name: identifierHashKeySecretName
    properties: {
      value: identifierHashKey
      contentType: 'text/plain'
    }
  }

  resource totpSecretKeySecret 'secrets' = {
    name: totpSecretKeySecretName
    properties: {
      value: totpSecretKey
      contentType: 'text/plain'
    }
  }
}

output name string = vault.name
// Versionless, so the app picks up a rotated key when it restarts.
output signingKeyUri string = vault::signingKeySecret.properties.secretUri
// The earlier version by its version id (a versioned URI never changes), or empty outside a rotation.
output previousSigningKeyUri string = empty(previousSigningKeyVersion) ? '' : '${vault::signingKeySecret.properties.secretUri}/${previousSigningKeyVersion}'
output identifierHashKeyUri string = vault::identifierHashKeySecret.properties.secretUri
output totpKeyUri string = vault::totpSecretKeySecret.properties.secretUri
output previousTotpKeyUri string = empty(previousTotpKeyVersion) ? '' : '${vault::totpSecretKeySecret.properties.secretUri}/${previousTotpKeyVersion}'
