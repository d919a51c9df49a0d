//! A blocking REAPI v2 client for what a cache needs: the action cache, the CAS (batched,
//! with ByteStream for large blobs), every fetched blob checked against its digest.

use std::collections::BTreeMap;
use std::future::Future;

use bazel_remote_apis::build::bazel::remote::execution::v2::{
    ActionResult, BatchReadBlobsRequest, BatchUpdateBlobsRequest, Digest, FindMissingBlobsRequest,
    GetActionResultRequest, UpdateActionResultRequest, action_cache_client::ActionCacheClient,
    batch_update_blobs_request,
    content_addressable_storage_client::ContentAddressableStorageClient,
};
use bazel_remote_apis::google::bytestream::{
    ReadRequest, WriteRequest, byte_stream_client::ByteStreamClient,
};
use sha2::{Digest as _, Sha256};
use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request};

use crate::RemoteError;
use crate::config::{Config, read_token};

/// Blobs above this go through ByteStream; batches stay below twice it (gRPC's usual
/// message bound is 4 MiB).
const BATCH_BLOB: usize = 1 << 20;
const CHUNK: usize = 1 << 20;

/// The digest of `bytes`: SHA-256 and size, as the CAS names them.
pub fn digest_of(bytes: &[u8]) -> Digest {
    Digest {
        hash: hex(&Sha256::digest(bytes)),
        size_bytes: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A connection to one REAPI server and instance.
pub struct RemoteCache {
    runtime: tokio::runtime::Runtime,
    channel: Channel,
    instance: String,
    token: Option<AsciiMetadataValue>,
    endpoint: String,
}

impl RemoteCache {
    /// Connects (within the configured timeout).
    ///
    /// # Errors
    ///
    /// The token file cannot be read, or the server cannot be reached.
    pub fn connect(config: &Config) -> Result<RemoteCache, RemoteError> {
        let token = match &config.token_file {
            Some(path) => {
                let token = read_token(path).map_err(|source| RemoteError::Token {
                    path: path.display().to_string(),
                    source,
                })?;
                let value: AsciiMetadataValue = MetadataValue::try_from(format!("Bearer {token}"))
                    .map_err(|_| RemoteError::Token {
                        path: path.display().to_string(),
                        source: crate::KeyError::Malformed("not a header value".into()),
                    })?;
                Some(value)
            }
            None => None,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| RemoteError::Unreachable(format!("no runtime: {err}")))?;
        let endpoint = Endpoint::from_shared(config.uri.clone())
            .map_err(|err| RemoteError::Unreachable(err.to_string()))?
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout);
        #[cfg(feature = "tls")]
        let endpoint = if config.uri.starts_with("https://") {
            endpoint
                .tls_config(tonic::transport::ClientTlsConfig::new().with_native_roots())
                .map_err(|err| RemoteError::Unreachable(err.to_string()))?
        } else {
            endpoint
        };
        let channel = runtime
            .block_on(endpoint.connect())
            .map_err(|err| RemoteError::Unreachable(describe_transport(&err)))?;
        Ok(RemoteCache {
            runtime,
            channel,
            instance: config.instance.clone(),
            token,
            endpoint: config.endpoint.clone(),
        })
    }

    /// The endpoint as configured.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        if let Some(token) = &self.token {
            request
                .metadata_mut()
                .insert("authorization", token.clone());
        }
        request
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The action cache's result for `action`; `None` when it has none.
    ///
    /// # Errors
    ///
    /// The call failed.
    pub fn get_action_result(&self, action: &Digest) -> Result<Option<ActionResult>, RemoteError> {
        let mut client = ActionCacheClient::new(self.channel.clone());
        let request = self.request(GetActionResultRequest {
            instance_name: self.instance.clone(),
            action_digest: Some(action.clone()),
            ..Default::default()
        });
        match self.block_on(client.get_action_result(request)) {
            Ok(response) => Ok(Some(response.into_inner())),
            Err(status) if status.code() == Code::NotFound => Ok(None),
            Err(status) => Err(RemoteError::from_status(&status)),
        }
    }

    /// Stores `result` as the action cache's result for `action`.
    ///
    /// # Errors
    ///
    /// The call failed (a read-only cache refuses it).
    pub fn update_action_result(
        &self,
        action: &Digest,
        result: ActionResult,
    ) -> Result<(), RemoteError> {
        let mut client = ActionCacheClient::new(self.channel.clone());
        let request = self.request(UpdateActionResultRequest {
            instance_name: self.instance.clone(),
            action_digest: Some(action.clone()),
            action_result: Some(result),
            ..Default::default()
        });
        self.block_on(client.update_action_result(request))
            .map(|_| ())
            .map_err(|status| RemoteError::from_status(&status))
    }

    /// Uploads the blobs the CAS lacks.
    ///
    /// # Errors
    ///
    /// A call failed, or the server refused a blob.
    pub fn upload(&self, blobs: &[Vec<u8>]) -> Result<(), RemoteError> {
        let by_digest: BTreeMap<String, (&Vec<u8>, Digest)> = blobs
            .iter()
            .map(|blob| {
                let digest = digest_of(blob);
                (digest.hash.clone(), (blob, digest))
            })
            .collect();
        let mut cas = ContentAddressableStorageClient::new(self.channel.clone());
        let request = self.request(FindMissingBlobsRequest {
            instance_name: self.instance.clone(),
            blob_digests: by_digest.values().map(|(_, d)| d.clone()).collect(),
            ..Default::default()
        });
        let missing = self
            .block_on(cas.find_missing_blobs(request))
            .map_err(|status| RemoteError::from_status(&status))?
            .into_inner()
            .missing_blob_digests;
        let mut batch = Vec::new();
        let mut batch_size = 0;
        for digest in missing {
            let Some((blob, digest)) = by_digest.get(&digest.hash) else {
                continue;
            };
            if blob.len() > BATCH_BLOB {
                self.write_stream(digest, blob)?;
                continue;
            }
            if batch_size + blob.len() > 2 * BATCH_BLOB {
                self.update_batch(std::mem::take(&mut batch))?;
                batch_size = 0;
            }
            batch_size += blob.len();
            batch.push(batch_update_blobs_request::Request {
                digest: Some(digest.clone()),
                data: (*blob).clone(),
                ..Default::default()
            });
        }
        if !batch.is_empty() {
            self.update_batch(batch)?;
        }
        Ok(())
    }

    fn update_batch(
        &self,
        requests: Vec<batch_update_blobs_request::Request>,
    ) -> Result<(), RemoteError> {
        let mut cas = ContentAddressableStorageClient::new(self.channel.clone());
        let request = self.request(BatchUpdateBlobsRequest {
            instance_name: self.instance.clone(),
            requests,
            ..Default::default()
        });
        let responses = self
            .block_on(cas.batch_update_blobs(request))
            .map_err(|status| RemoteError::from_status(&status))?
            .into_inner()
            .responses;
        for response in responses {
            if let Some(status) = response.status.filter(|s| s.code != 0) {
                return Err(RemoteError::Refused(status.message));
            }
        }
        Ok(())
    }

    fn write_stream(&self, digest: &Digest, blob: &[u8]) -> Result<(), RemoteError> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|err| RemoteError::Refused(err.to_string()))?;
        let resource = format!(
            "{}uploads/{}/blobs/{}/{}",
            self.instance_prefix(),
            uuid_shaped(&nonce),
            digest.hash,
            digest.size_bytes
        );
        let chunks: Vec<WriteRequest> = blob
            .chunks(CHUNK)
            .enumerate()
            .map(|(index, chunk)| WriteRequest {
                resource_name: if index == 0 {
                    resource.clone()
                } else {
                    String::new()
                },
                write_offset: i64::try_from(index * CHUNK).unwrap_or(i64::MAX),
                finish_write: (index + 1) * CHUNK >= blob.len(),
                data: chunk.to_vec(),
            })
            .collect();
        let mut client = ByteStreamClient::new(self.channel.clone());
        let request = self.request(tokio_stream::iter(chunks));
        self.block_on(client.write(request))
            .map(|_| ())
            .map_err(|status| RemoteError::from_status(&status))
    }

    fn instance_prefix(&self) -> String {
        if self.instance.is_empty() {
            String::new()
        } else {
            format!("{}/", self.instance)
        }
    }

    /// Downloads blobs, in the order asked, each checked against its digest.
    ///
    /// # Errors
    ///
    /// A call failed, a blob is missing, or one does not match its digest.
    pub fn download(&self, digests: &[Digest]) -> Result<Vec<Vec<u8>>, RemoteError> {
        let mut found: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut batch: Vec<Digest> = Vec::new();
        let mut batch_size = 0usize;
        for digest in digests {
            let size = usize::try_from(digest.size_bytes).map_err(|_| RemoteError::Corrupt)?;
            if found.contains_key(&digest.hash) || batch.iter().any(|d| d.hash == digest.hash) {
                continue;
            }
            if size > BATCH_BLOB {
                let blob = self.read_stream(digest)?;
                found.insert(digest.hash.clone(), blob);
                continue;
            }
            if batch_size + size > 2 * BATCH_BLOB {
                self.read_batch(std::mem::take(&mut batch), &mut found)?;
                batch_size = 0;
            }
            batch_size += size;
            batch.push(digest.clone());
        }
        if !batch.is_empty() {
            self.read_batch(batch, &mut found)?;
        }
        digests
            .iter()
            .map(|digest| {
                let blob = found.get(&digest.hash).ok_or(RemoteError::Missing)?;
                if digest_of(blob) == *digest {
                    Ok(blob.clone())
                } else {
                    Err(RemoteError::Corrupt)
                }
            })
            .collect()
    }

    fn read_batch(
        &self,
        digests: Vec<Digest>,
        found: &mut BTreeMap<String, Vec<u8>>,
    ) -> Result<(), RemoteError> {
        let mut cas = ContentAddressableStorageClient::new(self.channel.clone());
        let request = self.request(BatchReadBlobsRequest {
            instance_name: self.instance.clone(),
            digests,
            ..Default::default()
        });
        let responses = self
            .block_on(cas.batch_read_blobs(request))
            .map_err(|status| RemoteError::from_status(&status))?
            .into_inner()
            .responses;
        for response in responses {
            if response.status.as_ref().is_some_and(|s| s.code != 0) {
                continue;
            }
            if let Some(digest) = response.digest {
                found.insert(digest.hash, response.data);
            }
        }
        Ok(())
    }

    fn read_stream(&self, digest: &Digest) -> Result<Vec<u8>, RemoteError> {
        let resource = format!(
            "{}blobs/{}/{}",
            self.instance_prefix(),
            digest.hash,
            digest.size_bytes
        );
        let mut client = ByteStreamClient::new(self.channel.clone());
        let request = self.request(ReadRequest {
            resource_name: resource,
            read_offset: 0,
            read_limit: 0,
        });
        let expected = usize::try_from(digest.size_bytes).map_err(|_| RemoteError::Corrupt)?;
        self.block_on(async {
            let mut stream = match client.read(request).await {
                Ok(response) => response.into_inner(),
                Err(status) if status.code() == Code::NotFound => {
                    return Err(RemoteError::Missing);
                }
                Err(status) => return Err(RemoteError::from_status(&status)),
            };
            let mut blob = Vec::with_capacity(expected);
            while let Some(chunk) = stream
                .message()
                .await
                .map_err(|status| RemoteError::from_status(&status))?
            {
                blob.extend_from_slice(&chunk.data);
                if blob.len() > expected {
                    return Err(RemoteError::Corrupt);
                }
            }
            Ok(blob)
        })
    }
}

fn uuid_shaped(bytes: &[u8; 16]) -> String {
    let hex = hex(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A transport error's deepest cause, which says what happened ("Connection refused").
fn describe_transport(err: &tonic::transport::Error) -> String {
    let mut source: &dyn std::error::Error = err;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}

impl RemoteError {
    fn from_status(status: &tonic::Status) -> RemoteError {
        match status.code() {
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
                RemoteError::Unreachable(status_text(status))
            }
            Code::PermissionDenied | Code::Unauthenticated => {
                RemoteError::Denied(status_text(status))
            }
            _ => RemoteError::Refused(status_text(status)),
        }
    }
}

fn status_text(status: &tonic::Status) -> String {
    let message = status.message().trim();
    if message.is_empty() {
        format!("{:?}", status.code())
    } else {
        format!(
            "{:?}: {}",
            status.code(),
            message.chars().take(200).collect::<String>()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_sha256_and_size() {
        let digest = digest_of(b"");
        assert_eq!(
            digest.hash,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(digest.size_bytes, 0);
    }
}
