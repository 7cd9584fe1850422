"""Creates template.yaml's DynamoDB tables, SQS queues (with their redrive policies and
queue policies) and S3 buckets (with their S3 → SQS notifications) on moto, exactly as
declared, and returns what `Ref` / `Fn::GetAtt` give for every resource the local stack
stands in for.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.exceptions import ClientError

from . import template as tpl


def physical_name(stack: str, logical_id: str, lower: bool = False) -> str:
    name = f"{stack}-{logical_id}"
    return name.lower() if lower else name


def _client(service: str, endpoint: str):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=tpl.REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _strs(attrs: dict) -> dict[str, str]:
    out = {}
    for k, v in attrs.items():
        if isinstance(v, bool):
            out[k] = "true" if v else "false"
        elif isinstance(v, (dict, list)):
            out[k] = json.dumps(v)
        else:
            out[k] = str(v)
    return out


def _denies_plain_http(statement: dict) -> bool:
    cond = ((statement.get("Condition") or {}).get("Bool") or {}).get("aws:SecureTransport")
    return statement.get("Effect") == "Deny" and str(cond).lower() == "false"


def create(template: dict, moto_url: str, stack: str, extra_refs: dict, extra_attrs: dict) -> tpl.Resolver:
    """Creates the resources and returns a resolver for the whole template."""
    refs: dict[str, Any] = dict(extra_refs)
    attrs: dict[tuple[str, str], Any] = dict(extra_attrs)
    account, region = tpl.ACCOUNT_ID, tpl.REGION

    # Names first, so that any resource can refer to any other.
    queues = tpl.resources_of(template, "AWS::SQS::Queue")
    for lid, res in queues.items():
        name = (res.get("Properties") or {}).get("QueueName") or physical_name(stack, lid)
        refs[lid] = f"{moto_url}/{account}/{name}"
        attrs[(lid, "Arn")] = f"arn:aws:sqs:{region}:{account}:{name}"
        attrs[(lid, "QueueName")] = name
        attrs[(lid, "QueueUrl")] = refs[lid]
    tables = tpl.resources_of(template, "AWS::DynamoDB::Table")
    for lid, res in tables.items():
        name = (res.get("Properties") or {}).get("TableName") or physical_name(stack, lid)
        refs[lid] = name
        attrs[(lid, "Arn")] = f"arn:aws:dynamodb:{region}:{account}:table/{name}"
    buckets = tpl.resources_of(template, "AWS::S3::Bucket")
    for lid, res in buckets.items():
        name = (res.get("Properties") or {}).get("BucketName") or physical_name(stack, lid, lower=True)
        refs[lid] = name
        attrs[(lid, "Arn")] = f"arn:aws:s3:::{name}"
        attrs[(lid, "DomainName")] = f"{name}.s3.amazonaws.com"
    for lid in tpl.resources_of(template, "AWS::IAM::ManagedPolicy"):
        refs[lid] = f"arn:aws:iam::{account}:policy/{physical_name(stack, lid)}"
    for lid, res in tpl.resources_of(template, "AWS::Logs::LogGroup").items():
        refs[lid] = physical_name(stack, lid)
    for lid in tpl.resources_of(template, "AWS::Serverless::HttpApi"):
        refs[lid] = "local"
    resolve = tpl.Resolver(template, refs, attrs, stack)

    # Queues: dead-letter targets first (a redrive policy names an existing queue's ARN).
    sqs = _client("sqs", moto_url)

    def has_redrive(item):
        return "RedrivePolicy" in ((item[1].get("Properties") or {}))

    for lid, res in sorted(queues.items(), key=has_redrive):
        props = resolve(dict(res.get("Properties") or {}))
        props.pop("QueueName", None)
        props.pop("Tags", None)
        sqs.create_queue(QueueName=attrs[(lid, "QueueName")], Attributes=_strs(props))
    for res in tpl.resources_of(template, "AWS::SQS::QueuePolicy").values():
        props = resolve(res.get("Properties") or {})
        for url in props.get("Queues", []):
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])})

    ddb = _client("dynamodb", moto_url)
    for lid, res in tables.items():
        props = resolve(res.get("Properties") or {})
        args = {
            "TableName": refs[lid],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        if args["BillingMode"] == "PROVISIONED":
            args["ProvisionedThroughput"] = props["ProvisionedThroughput"]
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "StreamSpecification"):
            if key in props:
                args[key] = props[key]
        if "SSESpecification" in props:
            args["SSESpecification"] = {"Enabled": bool(props["SSESpecification"].get("SSEEnabled"))}
        try:
            ddb.create_table(**args)
        except ClientError as e:
            if e.response["Error"]["Code"] != "ResourceInUseException":
                raise
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            ddb.update_time_to_live(TableName=refs[lid], TimeToLiveSpecification=ttl)
        pitr = props.get("PointInTimeRecoverySpecification")
        if pitr:
            ddb.update_continuous_backups(TableName=refs[lid], PointInTimeRecoverySpecification=pitr)

    s3 = _client("s3", moto_url)
    for lid, res in buckets.items():
        props = resolve(res.get("Properties") or {})
        name = refs[lid]
        try:
            s3.create_bucket(Bucket=name)
        except ClientError as e:
            if e.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
                raise
        if "BucketEncryption" in props:
            s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        {"ApplyServerSideEncryptionByDefault": r["ServerSideEncryptionByDefault"]}
                        for r in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                    ]
                },
            )
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
        if "CorsConfiguration" in props:
            # CloudFormation's CorsRule names differ from the S3 API's.
            renames = {"Id": "ID", "ExposedHeaders": "ExposeHeaders", "MaxAge": "MaxAgeSeconds"}
            rules = [{renames.get(k, k): v for k, v in r.items()} for r in props["CorsConfiguration"]["CorsRules"]]
            s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
        if "LifecycleConfiguration" in props:
            rules = []
            for r in props["LifecycleConfiguration"]["Rules"]:
                rule = {"ID": r.get("Id", ""), "Status": r["Status"], "Filter": {"Prefix": r.get("Prefix", "")}}
                if "ExpirationInDays" in r:
                    rule["Expiration"] = {"Days": int(r["ExpirationInDays"])}
                if "AbortIncompleteMultipartUpload" in r:
                    rule["AbortIncompleteMultipartUpload"] = {
                        "DaysAfterInitiation": int(r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
                    }
                rules.append(rule)
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
        notes = props.get("NotificationConfiguration") or {}
        queue_configs = []
        for q in notes.get("QueueConfigurations", []):
            qc = {"QueueArn": q["Queue"], "Events": [q["Event"]]}
            rules = ((q.get("Filter") or {}).get("S3Key") or {}).get("Rules")
            if rules:
                qc["Filter"] = {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}}
            queue_configs.append(qc)
        if queue_configs:
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"QueueConfigurations": queue_configs}
            )
    for res in tpl.resources_of(template, "AWS::S3::BucketPolicy").values():
        props = resolve(res.get("Properties") or {})
        policy = dict(props["PolicyDocument"])
        # The stack speaks plain HTTP on loopback, and moto evaluates bucket policies: a
        # statement that denies non-TLS requests would deny every request here, so it is
        # the one kind of statement left out locally.
        policy["Statement"] = [st for st in policy.get("Statement", []) if not _denies_plain_http(st)]
        if policy["Statement"]:
            s3.put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(policy))
    return resolve

