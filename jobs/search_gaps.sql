-- Mart search_gaps: what users searched for and the marketplace did not have (the CLIENT API
-- answered with no products). The assortment gaps the business asked about.
select
  lower(trim(q.query)) as query,
  cast(count(*) as bigint) as searches,
  cast(sum(case when r.product_ids = '[]' then 1 else 0 end) as bigint) as empty_results,
  cast(count(distinct q.user_id) as bigint) as users,
  round(
    cast(sum(case when r.product_ids = '[]' then 1 else 0 end) as double) / count(*),
    4
  ) as empty_share
from user_requests q
left join user_responses r on r.request_id = q.request_id
where q.query is not null and trim(q.query) <> ''
group by lower(trim(q.query))
having sum(case when r.product_ids = '[]' then 1 else 0 end) > 0
